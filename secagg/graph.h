// File: secagg/graph.h
//
// The sparse neighbour graph of SecAgg+ (Bell et al. 2020): clients are
// placed on a ring in a pseudo-random order derived from the public graph
// seed, and each is connected to the k/2 clients on either side (a Harary
// graph H(k, n) under a random relabelling). Every client and the server
// compute the same graph from the round's parameters. With k >= n - 1 it is
// the complete graph (the original SecAgg).
//
// Thread-safety: immutable after construction; safe for concurrent reads.
#ifndef FEDGE_SECAGG_GRAPH_H_
#define FEDGE_SECAGG_GRAPH_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "secagg/params.h"

namespace fedge::secagg {

class NeighbourGraph {
 public:
  // Precondition: params.Validate() is OK.
  explicit NeighbourGraph(const SecAggParams& params);

  // The neighbours of `client`, sorted ascending, never `client` itself.
  // Precondition: client < num_clients.
  absl::Span<const uint32_t> Neighbours(uint32_t client) const { return neighbours_[client]; }
  bool AreNeighbours(uint32_t a, uint32_t b) const;
  uint32_t num_clients() const { return static_cast<uint32_t>(neighbours_.size()); }

 private:
  std::vector<std::vector<uint32_t>> neighbours_;
};

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_GRAPH_H_
