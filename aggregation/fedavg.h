// File: aggregation/fedavg.h
//
// FedAvg (McMahan et al. 2017): the next global model is the global model
// plus the example-weighted mean of the devices' deltas, optionally scaled by
// a server learning rate:  x <- x + eta * sum_i(n_i * delta_i) / sum_i(n_i).
// Memory: one accumulator of the model's size per round (streaming).
#ifndef FEDGE_AGGREGATION_FEDAVG_H_
#define FEDGE_AGGREGATION_FEDAVG_H_

#include "aggregation/strategy.h"

namespace fedge {

struct FedAvgOptions {
  // Scales the averaged delta; 1.0 is the paper's FedAvg. Must be > 0.
  double server_learning_rate = 1.0;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
};

// Thread-safety: see strategy.h (one thread at a time). Stateless across
// rounds.
class FedAvg final : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit FedAvg(FedAvgOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "fedavg"; }
  // A WeightedMeanAggregator (aggregation/weighted_mean.h).
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // global += server_learning_rate * delta; kInvalidArgument on size mismatch.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;

 private:
  FedAvgOptions options_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_FEDAVG_H_
