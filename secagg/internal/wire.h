// File: secagg/internal/wire.h
//
// Little-endian byte writer and bounds-checked reader for the secagg message
// encoding, and the k-bit packing of ring vectors.
//
// Thread-safety: plain values; one thread per object.
#ifndef FEDGE_SECAGG_INTERNAL_WIRE_H_
#define FEDGE_SECAGG_INTERNAL_WIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace fedge::secagg::internal {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Uint(v, 4); }
  void U64(uint64_t v) { Uint(v, 8); }
  void Raw(absl::string_view bytes) { out_.append(bytes.data(), bytes.size()); }
  void Raw(absl::Span<const uint8_t> bytes) { out_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }
  std::string Take() { return std::move(out_); }

 private:
  void Uint(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  std::string out_;
};

// Every read fails with kInvalidArgument naming `what` at the end of input.
class Reader {
 public:
  explicit Reader(absl::string_view in) : rest_(in) {}
  absl::StatusOr<uint8_t> U8(const char* what);
  absl::StatusOr<uint32_t> U32(const char* what);
  absl::StatusOr<uint64_t> U64(const char* what);
  absl::StatusOr<absl::string_view> Raw(size_t n, const char* what);
  size_t remaining() const { return rest_.size(); }
  // kInvalidArgument if bytes are left over (messages have one encoding).
  absl::Status ExpectEnd() const;

 private:
  absl::StatusOr<uint64_t> Uint(int width, const char* what);
  absl::string_view rest_;
};

// ceil(count * bits / 8): the packed size of `count` elements of `bits` bits.
size_t PackedBytes(uint64_t count, int bits);
// Elements (each < 2^bits) packed LSB first, with no padding between them.
std::string PackRing(absl::Span<const uint64_t> values, int bits);
// Inverse of PackRing; kInvalidArgument unless `packed` has exactly
// PackedBytes(count, bits) bytes and the padding bits are zero.
absl::StatusOr<std::vector<uint64_t>> UnpackRing(absl::string_view packed, uint64_t count, int bits);

}  // namespace fedge::secagg::internal

#endif  // FEDGE_SECAGG_INTERNAL_WIRE_H_
