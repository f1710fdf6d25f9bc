#include "coordinator/upload_buffer.h"

#include "absl/strings/str_cat.h"

namespace fedge {

absl::Status UploadBuffer::Append(uint64_t offset, std::string_view data, uint64_t total_size) {
  if (total_size == 0 || total_size > max_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat("upload declares ", total_size,
                                                   " bytes; an update for this model must be between 1 and ",
                                                   max_bytes_, " bytes"));
  }
  if (total_size_ == 0) {
    total_size_ = total_size;
    data_.reserve(total_size);
  } else if (total_size != total_size_) {
    return absl::InvalidArgumentError(absl::StrCat("upload declared ", total_size_,
                                                   " bytes in its first chunk but ", total_size, " now"));
  }
  if (offset > data_.size()) return absl::OkStatus();  // a gap: the reply tells the device where to resume
  if (offset + data.size() > total_size_) {
    return absl::InvalidArgumentError(absl::StrCat("upload chunk at offset ", offset, " of ", data.size(),
                                                   " bytes runs past the declared ", total_size_, " bytes"));
  }
  const uint64_t already = data_.size() - offset;
  if (already < data.size()) data_.append(data.substr(already));
  return absl::OkStatus();
}

void UploadBuffer::Release() {
  std::string().swap(data_);
}

}  // namespace fedge
