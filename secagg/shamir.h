// File: secagg/shamir.h
//
// Shamir secret sharing over the prime field GF(p), p = 2^61 - 1, for the
// short secrets of the protocol (a 16-byte self-mask seed, a 32-byte X25519
// private key). A secret of B bytes is cut into ceil(B/7) field elements of
// 56 bits each, every element shared with its own random polynomial of
// degree t-1; the holder with id h gets the evaluations at x = h + 1.
//
// Thread-safety: stateless functions, safe for concurrent use.
#ifndef FEDGE_SECAGG_SHAMIR_H_
#define FEDGE_SECAGG_SHAMIR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "secagg/random.h"

namespace fedge::secagg {

inline constexpr uint64_t kFieldPrime = (uint64_t{1} << 61) - 1;
inline constexpr size_t kBytesPerElement = 7;

// Field elements that one share of a `secret_bytes`-byte secret carries.
constexpr size_t ElementsFor(size_t secret_bytes) { return (secret_bytes + kBytesPerElement - 1) / kBytesPerElement; }

struct ShamirShare {
  uint64_t x = 0;                 // evaluation point, holder id + 1 (never 0)
  std::vector<uint64_t> values;  // one field element per secret chunk
};

// Shares of `secret` for the holders `holder_ids` (distinct, < 2^32), any
// `threshold` of which reconstruct it. Preconditions (else kInvalidArgument):
// 1 <= threshold <= holder_ids.size(), secret non-empty.
absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(absl::string_view secret, uint32_t threshold,
                                                     absl::Span<const uint32_t> holder_ids, Randomness& random);

// The secret of `secret_bytes` bytes from at least `threshold` shares.
// Errors: kFailedPrecondition with fewer shares; kInvalidArgument for
// duplicate or zero x, out-of-field or wrongly sized values; kDataLoss when
// the extra shares (beyond the first t) are inconsistent with the first t or
// a chunk decodes to more than 56 bits (forged or corrupted shares).
absl::StatusOr<std::string> ShamirReconstruct(absl::Span<const ShamirShare> shares, uint32_t threshold,
                                              size_t secret_bytes);

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_SHAMIR_H_
