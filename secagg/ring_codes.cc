#include "secagg/ring_codes.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fedge::secagg {

absl::StatusOr<int> RingBitsFor(int code_bits, uint32_t num_clients) {
  if (code_bits < 2 || code_bits > 16) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: code_bits must be in [2, 16], got ", code_bits));
  }
  if (num_clients == 0) return absl::InvalidArgumentError("secagg: a ring for zero clients");
  int log = 0;
  while ((uint64_t{1} << log) < num_clients) ++log;  // ceil(log2 n)
  return code_bits + log;
}

absl::StatusOr<std::vector<uint64_t>> CodesToRing(absl::Span<const int8_t> codes, int code_bits) {
  if (code_bits < 2 || code_bits > 8) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: int8 codes carry 2..8 bits, got ", code_bits));
  }
  const int64_t offset = int64_t{1} << (code_bits - 1);
  std::vector<uint64_t> ring(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] <= -offset || codes[i] >= offset) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: code ", static_cast<int>(codes[i]), " at index ", i,
                                                     " is outside the ", code_bits, "-bit codec's range"));
    }
    ring[i] = static_cast<uint64_t>(codes[i] + offset);
  }
  return ring;
}

absl::StatusOr<std::vector<int64_t>> RingSumToCodeSum(absl::Span<const uint64_t> ring_sum, int code_bits,
                                                      uint32_t contributors) {
  if (code_bits < 2 || code_bits > 8) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: int8 codes carry 2..8 bits, got ", code_bits));
  }
  const int64_t offset = int64_t{1} << (code_bits - 1);
  const uint64_t largest = uint64_t{contributors} * static_cast<uint64_t>(2 * offset - 1);
  std::vector<int64_t> sum(ring_sum.size());
  for (size_t i = 0; i < ring_sum.size(); ++i) {
    if (ring_sum[i] > largest || ring_sum[i] < contributors) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: ring sum ", ring_sum[i], " at index ", i,
                                                     " is not a sum of ", contributors, " shifted codes"));
    }
    sum[i] = static_cast<int64_t>(ring_sum[i]) - offset * static_cast<int64_t>(contributors);
  }
  return sum;
}

}  // namespace fedge::secagg
