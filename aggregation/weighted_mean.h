// File: aggregation/weighted_mean.h
//
// The streaming weighted mean of updates: one float accumulator per element
// (O(model size) memory however many devices report), updates decoded
// straight into it through UpdateView::AccumulateInto. Used by FedAvg,
// FedProx and the FedOpt family.
//
// Thread-safety: not thread-safe.
#ifndef FEDGE_AGGREGATION_WEIGHTED_MEAN_H_
#define FEDGE_AGGREGATION_WEIGHTED_MEAN_H_

#include "aggregation/strategy.h"

namespace fedge {

class WeightedMeanAggregator final : public RoundAggregator {
 public:
  explicit WeightedMeanAggregator(int64_t num_elements) : sum_(num_elements, 0.0f) {}

  absl::Status Add(const UpdateView& update, double weight) override;
  int64_t num_updates() const override { return num_updates_; }
  // The sum of weight_i * update_i; values = {total weight, number of updates}.
  std::optional<AggregatorState> SaveState() const override;
  absl::Status RestoreState(const AggregatorState& state) override;
  // sum(weight_i * update_i) / sum(weight_i).
  absl::StatusOr<std::vector<float>> Finish() override;

 private:
  std::vector<float> sum_;
  double total_weight_ = 0;
  int64_t num_updates_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_WEIGHTED_MEAN_H_
