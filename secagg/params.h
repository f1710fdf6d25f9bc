// File: secagg/params.h
//
// The public parameters of one secure-aggregation round, known to the server
// and to every client before the round starts (in phase 2 the coordinator
// sends them with the task). Both sides validate them with `Validate` before
// creating a session.
//
// Thread-safety: plain value.
#ifndef FEDGE_SECAGG_PARAMS_H_
#define FEDGE_SECAGG_PARAMS_H_

#include <cstdint>

#include "absl/status/status.h"

namespace fedge::secagg {

// Hard bounds that keep every decoder's allocation bounded.
inline constexpr uint32_t kMaxClients = 1u << 16;
inline constexpr uint32_t kMaxNeighbours = 1024;
inline constexpr uint64_t kMaxVectorLength = uint64_t{1} << 26;
inline constexpr int kMaxRingBits = 64;

struct SecAggParams {
  // Identifies the round; bound into every message header, key derivation
  // and ciphertext so nothing from one round is accepted in another.
  uint64_t round_id = 0;
  // Clients are numbered 0 .. num_clients-1 (the order of selection).
  uint32_t num_clients = 0;
  // k: how many neighbours each client masks with and shares its secrets
  // among (SecAgg+; even, O(log n)). k >= num_clients-1 gives the complete
  // graph, i.e. the original SecAgg of Bonawitz et al.
  uint32_t neighbours = 0;
  // t: Shamir threshold within a neighbourhood, 1 <= t <= effective k.
  // t > k/2 is what stops a server that lies about dropouts (README).
  uint32_t threshold = 0;
  // Inputs are vectors of this many elements of Z_{2^ring_bits}.
  uint64_t vector_length = 0;
  int ring_bits = 0;
  // Public seed of the neighbour graph (chosen by the server per round).
  uint64_t graph_seed = 0;

  // Neighbours actually used: min(neighbours, num_clients - 1).
  uint32_t EffectiveNeighbours() const;
  // kInvalidArgument naming the bad field.
  absl::Status Validate() const;
};

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_PARAMS_H_
