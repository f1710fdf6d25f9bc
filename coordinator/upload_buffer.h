// File: coordinator/upload_buffer.h
//
// Reassembles one chunked, resumable upload. Devices send chunks at the
// offset the coordinator last acknowledged; a chunk that starts before that
// offset (a retry of an acknowledged range) contributes only its new tail, a
// chunk that starts after it is ignored and answered with the offset to
// resume from. The declared total size is fixed by the first chunk and
// bounded, so a device cannot make the coordinator buffer more than it
// allows.
//
// Thread-safety: not thread-safe; the Federation holds its lock.
#ifndef FEDGE_COORDINATOR_UPLOAD_BUFFER_H_
#define FEDGE_COORDINATOR_UPLOAD_BUFFER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace fedge {

class UploadBuffer {
 public:
  // `max_bytes` bounds the declared total size of the upload.
  explicit UploadBuffer(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Applies one chunk. kInvalidArgument when the declared total is zero,
  // above the bound, or differs from the first chunk's, or when the chunk
  // would run past the total. On success, `committed()` is the offset the
  // device should send next.
  absl::Status Append(uint64_t offset, std::string_view data, uint64_t total_size);
  // Append, but a whole upload in one chunk into an empty buffer is moved
  // in rather than copied (the Federation copies it before taking its lock).
  absl::Status AppendOwned(uint64_t offset, std::string data, uint64_t total_size);

  uint64_t committed() const { return taken_ > 0 ? taken_ : data_.size(); }
  bool complete() const { return total_size_ > 0 && committed() == total_size_; }
  // The assembled bytes. REQUIRES: complete() and not taken.
  std::string_view bytes() const { return data_; }
  // Moves the assembled bytes out; committed() and complete() are kept.
  // REQUIRES: complete().
  std::string TakeBytes();
  // Frees the buffer once the upload has been consumed.
  void Release();

 private:
  uint64_t max_bytes_;
  // The declared total is within bounds and matches the first chunk's.
  absl::Status CheckTotal(uint64_t total_size);

  uint64_t total_size_ = 0;
  uint64_t taken_ = 0;  // TakeBytes' size
  std::string data_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_UPLOAD_BUFFER_H_
