// File: core/idx_stream.h
//
// `IdxStream`: reads an IDX file (core/idx.h), gzip-compressed or plain, as
// a stream: the header first, then the payload in pieces the caller sizes.
// A caller that needs a few rows of a large file (a device's shard of the
// 47 MB Fashion-MNIST training images) keeps only those, and one that needs
// the whole file reads it straight into a buffer of its final size: memory
// stays at what is kept, not at compressed file + inflated copy + parsed
// copy as with ReadIdxFile.
//
// Files are untrusted: the header is validated as ParseIdx does, the
// declared size is checked against IdxLimits before anything is inflated,
// and Finish() insists the payload ends exactly where the header says and
// nothing follows the gzip member. Errors name the file.
//
// A gzip member is inflated with isa-l when the build found it (Debian's
// libisal-dev: about three times zlib's speed on the 26 MB training images
// every device and fedge-sim read at start-up), with zlib otherwise. Both
// accept exactly the same files: fuzz/idx_fuzzer.cc holds IdxStream to
// DecodeIdx, which always uses zlib.
//
// Ownership: owns the open file. Thread-safety: thread-compatible.
#ifndef FEDGE_CORE_IDX_STREAM_H_
#define FEDGE_CORE_IDX_STREAM_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/idx.h"

namespace fedge {

class IdxStream {
 public:
  // Opens `path` and reads its header. kNotFound if it does not exist;
  // kInvalidArgument for a bad header or a declared size above
  // `limits.max_decompressed_bytes`.
  static absl::StatusOr<std::unique_ptr<IdxStream>> Open(const std::string& path, const IdxLimits& limits = {});
  ~IdxStream();
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;

  // The header's dimensions; their product is payload_bytes().
  const std::vector<int64_t>& dims() const { return dims_; }
  uint64_t payload_bytes() const { return payload_bytes_; }
  // Payload bytes not read or skipped yet.
  uint64_t remaining() const { return payload_bytes_ - consumed_; }

  // The next out.size() payload bytes. kInvalidArgument when that is more
  // than remaining() or the file is truncated or corrupt.
  absl::Status Read(absl::Span<uint8_t> out);
  // Reads and drops the next `n` payload bytes (same errors as Read).
  absl::Status Skip(uint64_t n);
  // Checks that the payload was consumed entirely and that the file ends
  // there (no trailing bytes, no second gzip member).
  absl::Status Finish();

 private:
  struct Inflater;
  IdxStream(std::string path, std::FILE* file, bool gzip);
  // The next out.size() bytes of the (decompressed) file.
  absl::Status ReadRaw(absl::Span<uint8_t> out);
  absl::Status ReadHeader(const IdxLimits& limits);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<Inflater> inflater_;  // null for a plain file
  std::vector<int64_t> dims_;
  uint64_t payload_bytes_ = 0;
  uint64_t consumed_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_CORE_IDX_STREAM_H_
