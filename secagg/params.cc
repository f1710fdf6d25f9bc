#include "secagg/params.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fedge::secagg {

uint32_t SecAggParams::EffectiveNeighbours() const {
  return num_clients == 0 ? 0 : std::min(neighbours, num_clients - 1);
}

absl::Status SecAggParams::Validate() const {
  if (num_clients < 2 || num_clients > kMaxClients) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: num_clients must be in [2, ", kMaxClients, "], got ",
                                                   num_clients));
  }
  if (neighbours < 2 || neighbours > kMaxNeighbours) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: neighbours must be in [2, ", kMaxNeighbours, "], got ",
                                                   neighbours));
  }
  // The Harary construction connects k/2 clients on each side of the ring.
  if (neighbours % 2 != 0 && neighbours < num_clients - 1) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: neighbours must be even (or >= num_clients - 1), got ",
                                                   neighbours));
  }
  if (threshold < 1 || threshold > EffectiveNeighbours()) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: threshold must be in [1, ", EffectiveNeighbours(),
                                                   "] (the neighbours a client has), got ", threshold));
  }
  if (vector_length < 1 || vector_length > kMaxVectorLength) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: vector_length must be in [1, ", kMaxVectorLength,
                                                   "], got ", vector_length));
  }
  if (ring_bits < 1 || ring_bits > kMaxRingBits) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: ring_bits must be in [1, ", kMaxRingBits, "], got ",
                                                   ring_bits));
  }
  return absl::OkStatus();
}

}  // namespace fedge::secagg
