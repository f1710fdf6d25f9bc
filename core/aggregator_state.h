// File: core/aggregator_state.h
//
// `AggregatorState`: the whole state of a streaming aggregator between two
// updates (aggregation/strategy.h RoundAggregator::SaveState, and the
// client-level DP accumulator in privacy/). A durable coordinator stores it
// once per batch of acknowledged updates (coordinator/store/README.md).
// Here, below both, because privacy/ does not depend on aggregation/.
#ifndef FEDGE_CORE_AGGREGATOR_STATE_H_
#define FEDGE_CORE_AGGREGATOR_STATE_H_

#include <vector>

namespace fedge {

// The running sum and the aggregator's own numbers, in an order each
// aggregator documents.
struct AggregatorState {
  std::vector<float> sum;
  std::vector<double> values;
};

}  // namespace fedge

#endif  // FEDGE_CORE_AGGREGATOR_STATE_H_
