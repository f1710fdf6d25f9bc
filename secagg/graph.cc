#include "secagg/graph.h"

#include <algorithm>
#include <numeric>

namespace fedge::secagg {
namespace {

// SplitMix64: a fixed, portable generator (std::shuffle's output differs
// between standard libraries, and every party must build the same graph).
uint64_t NextSplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) by rejection.
uint64_t Below(uint64_t& state, uint64_t bound) {
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % bound);
  for (;;) {
    const uint64_t v = NextSplitMix(state);
    if (v < limit) return v % bound;
  }
}

}  // namespace

NeighbourGraph::NeighbourGraph(const SecAggParams& params) : neighbours_(params.num_clients) {
  const uint32_t n = params.num_clients;
  const uint32_t k = params.EffectiveNeighbours();
  if (k >= n - 1) {
    for (uint32_t u = 0; u < n; ++u) {
      for (uint32_t v = 0; v < n; ++v) {
        if (v != u) neighbours_[u].push_back(v);
      }
    }
    return;
  }
  std::vector<uint32_t> order(n);  // order[position] = client
  std::iota(order.begin(), order.end(), 0u);
  uint64_t state = params.graph_seed ^ (params.round_id * 0xd1b54a32d192ed03ULL);
  for (uint32_t i = n - 1; i > 0; --i) std::swap(order[i], order[Below(state, uint64_t{i} + 1)]);
  for (uint32_t pos = 0; pos < n; ++pos) {
    std::vector<uint32_t>& list = neighbours_[order[pos]];
    for (uint32_t step = 1; step <= k / 2; ++step) {
      list.push_back(order[(pos + step) % n]);
      list.push_back(order[(pos + n - step) % n]);
    }
    std::sort(list.begin(), list.end());
  }
}

bool NeighbourGraph::AreNeighbours(uint32_t a, uint32_t b) const {
  if (a >= neighbours_.size() || b >= neighbours_.size()) return false;
  const std::vector<uint32_t>& list = neighbours_[a];
  return std::binary_search(list.begin(), list.end(), b);
}

}  // namespace fedge::secagg
