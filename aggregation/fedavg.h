// File: aggregation/fedavg.h
//
// FedAvg (McMahan et al. 2017): the next global model is the global model
// plus the example-weighted mean of the devices' deltas, optionally scaled by
// a server learning rate.
#ifndef FEDGE_AGGREGATION_FEDAVG_H_
#define FEDGE_AGGREGATION_FEDAVG_H_

#include "aggregation/strategy.h"

namespace fedge {

struct FedAvgOptions {
  // Scales the averaged delta; 1.0 is the paper's FedAvg.
  double server_learning_rate = 1.0;
};

class FedAvg final : public Strategy {
 public:
  explicit FedAvg(FedAvgOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "fedavg"; }
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;

 private:
  FedAvgOptions options_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_FEDAVG_H_
