#include "coordinator/upload_buffer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {

absl::Status UploadBuffer::CheckTotal(uint64_t total_size) {
  if (total_size == 0 || total_size > max_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("upload declares ", total_size,
                                                   " bytes; an update for this model must be between 1 and ",
                                                   max_bytes_, " bytes"));
  }
  if (total_size_ == 0) {
    total_size_ = total_size;
  } else if (total_size != total_size_) {
    return absl::InvalidArgumentError(absl::StrCat("upload declared ", total_size_,
                                                   " bytes in its first chunk but ", total_size, " now"));
  }
  return absl::OkStatus();
}

absl::Status UploadBuffer::Append(uint64_t offset, std::string_view data, uint64_t total_size) {
  FEDGE_RETURN_IF_ERROR(CheckTotal(total_size));
  if (offset > data_.size()) return absl::OkStatus();  // a gap: the reply tells the device where to resume
  if (offset + data.size() > total_size_) {
    return absl::InvalidArgumentError(absl::StrCat("upload chunk at offset ", offset, " of ", data.size(),
                                                   " bytes runs past the declared ", total_size_, " bytes"));
  }
  const uint64_t already = data_.size() - offset;
  if (already < data.size()) {
    data_.reserve(total_size_);
    data_.append(data.substr(already));
  }
  return absl::OkStatus();
}

absl::Status UploadBuffer::AppendOwned(uint64_t offset, std::string data, uint64_t total_size) {
  if (offset != 0 || !data_.empty() || taken_ > 0 || data.size() != total_size) {
    return Append(offset, data, total_size);
  }
  FEDGE_RETURN_IF_ERROR(CheckTotal(total_size));
  data_ = std::move(data);
  return absl::OkStatus();
}

std::string UploadBuffer::TakeBytes() {
  taken_ = data_.size();
  std::string bytes = std::move(data_);
  data_.clear();
  return bytes;
}

void UploadBuffer::Release() {
  std::string().swap(data_);
}

}  // namespace fedge
