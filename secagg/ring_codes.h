// File: secagg/ring_codes.h
//
// Maps the signed integer codes of the int8/int4 update codecs
// (compression/README.md: int8 codes in [-127, 127], int4 in [-7, 7], with
// per-round scales shared by every device) to the ring Z_{2^k} that secure
// aggregation sums in, and the ring sum back to the sum of the codes. A code
// c of a `code_bits`-bit codec becomes c + 2^(code_bits-1), in
// [1, 2^code_bits - 1], so a sum of n of them stays below
// 2^(code_bits + ceil(log2 n)) = 2^RingBitsFor(code_bits, n): no wrap-around.
//
// Thread-safety: stateless functions.
#ifndef FEDGE_SECAGG_RING_CODES_H_
#define FEDGE_SECAGG_RING_CODES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fedge::secagg {

// code_bits + ceil(log2 num_clients). kInvalidArgument for code_bits outside
// [2, 16], num_clients = 0, or a result above 64.
absl::StatusOr<int> RingBitsFor(int code_bits, uint32_t num_clients);

// The codes shifted into the ring. kInvalidArgument (naming the index) for a
// code outside [-(2^(code_bits-1) - 1), 2^(code_bits-1) - 1].
absl::StatusOr<std::vector<uint64_t>> CodesToRing(absl::Span<const int8_t> codes, int code_bits);

// The sum of the signed codes of `contributors` clients from their ring sum.
// kInvalidArgument if an element is not a possible sum (it exceeds the
// largest sum of `contributors` codes), which means the ring was too small or
// the sum is not one of shifted codes.
absl::StatusOr<std::vector<int64_t>> RingSumToCodeSum(absl::Span<const uint64_t> ring_sum, int code_bits,
                                                      uint32_t contributors);

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_RING_CODES_H_
