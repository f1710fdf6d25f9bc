#include "secagg/internal/wire.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include <algorithm>

namespace fedge::secagg::internal {

absl::StatusOr<uint64_t> Reader::Uint(int width, const char* what) {
  if (rest_.size() < static_cast<size_t>(width)) {
    return absl::InvalidArgumentError(absl::StrCat("secagg message truncated at ", what));
  }
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= uint64_t{static_cast<uint8_t>(rest_[i])} << (8 * i);
  rest_.remove_prefix(width);
  return v;
}

absl::StatusOr<uint8_t> Reader::U8(const char* what) {
  absl::StatusOr<uint64_t> v = Uint(1, what);
  if (!v.ok()) return v.status();
  return static_cast<uint8_t>(*v);
}

absl::StatusOr<uint32_t> Reader::U32(const char* what) {
  absl::StatusOr<uint64_t> v = Uint(4, what);
  if (!v.ok()) return v.status();
  return static_cast<uint32_t>(*v);
}

absl::StatusOr<uint64_t> Reader::U64(const char* what) { return Uint(8, what); }

absl::StatusOr<absl::string_view> Reader::Raw(size_t n, const char* what) {
  if (rest_.size() < n) return absl::InvalidArgumentError(absl::StrCat("secagg message truncated at ", what));
  absl::string_view out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return out;
}

absl::Status Reader::ExpectEnd() const {
  if (rest_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("secagg message has ", rest_.size(), " trailing bytes"));
}

size_t PackedBytes(uint64_t count, int bits) {
  // count <= 2^26 and bits <= 64: the product fits easily.
  return static_cast<size_t>((count * static_cast<uint64_t>(bits) + 7) / 8);
}

std::string PackRing(absl::Span<const uint64_t> values, int bits) {
  std::string out(PackedBytes(values.size(), bits), '\0');
  uint64_t bit = 0;
  for (uint64_t v : values) {
    for (int done = 0; done < bits;) {  // write up to a byte boundary at a time
      const uint64_t byte = bit / 8;
      const int offset = static_cast<int>(bit % 8);
      const int take = std::min(8 - offset, bits - done);
      const uint64_t piece = (v >> done) & ((uint64_t{1} << take) - 1);
      out[byte] = static_cast<char>(static_cast<uint8_t>(out[byte]) | (piece << offset));
      done += take;
      bit += static_cast<uint64_t>(take);
    }
  }
  return out;
}

absl::StatusOr<std::vector<uint64_t>> UnpackRing(absl::string_view packed, uint64_t count, int bits) {
  if (packed.size() != PackedBytes(count, bits)) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: masked vector has ", packed.size(), " bytes, expected ",
                                                   PackedBytes(count, bits), " for ", count, " elements of ", bits,
                                                   " bits"));
  }
  std::vector<uint64_t> out(count);
  uint64_t bit = 0;
  for (uint64_t& v : out) {
    for (int done = 0; done < bits;) {
      const uint64_t byte = bit / 8;
      const int offset = static_cast<int>(bit % 8);
      const int take = std::min(8 - offset, bits - done);
      const uint64_t piece = (static_cast<uint8_t>(packed[byte]) >> offset) & ((uint64_t{1} << take) - 1);
      v |= piece << done;
      done += take;
      bit += static_cast<uint64_t>(take);
    }
  }
  const int pad = static_cast<int>(packed.size() * 8 - bit);
  if (pad > 0 && (static_cast<uint8_t>(packed.back()) >> (8 - pad)) != 0) {
    return absl::InvalidArgumentError("secagg: masked vector has non-zero padding bits");
  }
  return out;
}

}  // namespace fedge::secagg::internal
