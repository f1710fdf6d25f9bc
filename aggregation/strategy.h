// File: aggregation/strategy.h
//
// The `Strategy` interface: how a federation turns the updates of one round
// into the next global model. A round has two stages, kept apart so they
// compose (any combiner with any server optimizer, and client-level DP
// wrapping any combiner):
//   1. a `RoundAggregator` combines the round's validated updates (deltas
//      relative to the round's global model) into one delta: a weighted mean
//      for FedAvg-style strategies, a robust statistic for median / trimmed
//      mean / Krum;
//   2. `Strategy::Apply` takes a server step with that delta: plain
//      addition for FedAvg, an adaptive optimizer for FedAdam and friends.
//
// Thread-safety: a Strategy and its aggregators are used by one thread at a
// time (the coordinator serialises rounds). Aggregators hold no reference to
// their strategy unless documented.
#ifndef FEDGE_AGGREGATION_STRATEGY_H_
#define FEDGE_AGGREGATION_STRATEGY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/aggregator_state.h"
#include "core/update_view.h"
#include "proto/fedge.pb.h"

namespace fedge {

class RoundAggregator {
 public:
  virtual ~RoundAggregator() = default;

  // Folds in one update that has passed the boundary checks
  // (aggregation/update_checks.h). REQUIRES: update.size() equals the round's
  // element count, weight > 0. Streaming aggregators keep O(model size)
  // memory; the ones that must keep every update say so and bound it.
  virtual absl::Status Add(const UpdateView& update, double weight) = 0;
  virtual int64_t num_updates() const = 0;

  // Checkpoints. A durable coordinator stores a streaming aggregator's state
  // once per batch of acknowledged updates instead of every update
  // (coordinator/store/README.md, "The acknowledgement contract"). nullopt:
  // this aggregator keeps every update and cannot be checkpointed more
  // cheaply than by storing the updates themselves (the default).
  virtual std::optional<AggregatorState> SaveState() const { return std::nullopt; }
  // Returns to a state SaveState gave, of an aggregator of the same kind and
  // size: afterwards it behaves exactly (bit for bit) as the one saved.
  // kDataLoss when `state` does not fit; kUnimplemented by default.
  virtual absl::Status RestoreState(const AggregatorState& state) {
    (void)state;
    return absl::UnimplementedError("this aggregator keeps every update and has no state to restore");
  }

  // The combined delta. kFailedPrecondition when fewer updates arrived than
  // the strategy needs.
  virtual absl::StatusOr<std::vector<float>> Finish() = 0;
};

class Strategy {
 public:
  virtual ~Strategy() = default;

  virtual std::string_view name() const = 0;
  // Adds the strategy's settings to the devices' task for `round`
  // (e.g. FedProx sets proximal_mu). Default: no change.
  virtual void ConfigureTrain(uint64_t round, proto::TrainConfig& config) const {
    (void)round;
    (void)config;
  }
  // Starts combining the updates of one round of `num_elements`-sized models.
  virtual std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) = 0;
  // Server step: updates `global` in place from the combined delta.
  // REQUIRES: delta.size() == global.size().
  virtual absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) = 0;
  // Fewest updates for which BeginRound's aggregator can produce a result.
  virtual int64_t min_updates() const { return 1; }

  // Server-optimizer state that persists across rounds (e.g. FedAdam's
  // moments), as flat vectors in a strategy-specific order documented by the
  // strategy, for checkpointing. Empty for stateless strategies and before
  // the first Apply.
  virtual std::vector<std::vector<float>> ExportState() const { return {}; }
  // Restores state produced by ExportState() of a strategy of the same name
  // and options. An empty `state` resets the strategy to its initial state.
  // kInvalidArgument when the number or sizes of the vectors do not match
  // what the strategy keeps; a size that does not match the model is
  // reported by the next Apply.
  virtual absl::Status ImportState(std::vector<std::vector<float>> state) {
    if (state.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError("this strategy keeps no state between rounds; import an empty state");
  }
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_STRATEGY_H_
