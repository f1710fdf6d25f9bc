// File: aggregation/fedavgm.h
//
// FedAvgM: FedAvg with server momentum (Hsu et al. 2019, "Measuring the
// Effects of Non-Identical Data Distribution for Federated Visual
// Classification"). The round's example-weighted mean delta Delta_t is a
// pseudo-gradient accumulated into a momentum buffer:
//   u_t = beta * u_{t-1} + Delta_t,   u_{-1} = 0
//   x_{t+1} = x_t + eta * u_t
// beta = 0 is FedAvg with server learning rate eta.
//
// Memory: the round's streaming mean plus u: two float vectors of the
// model's size. State export (ExportState/ImportState): {u}.
#ifndef FEDGE_AGGREGATION_FEDAVGM_H_
#define FEDGE_AGGREGATION_FEDAVGM_H_

#include <vector>

#include "aggregation/strategy.h"

namespace fedge {

struct FedAvgMOptions {
  // eta: scales the momentum step. Must be > 0.
  double server_learning_rate = 1.0;
  // beta: momentum decay, in [0, 1).
  double server_momentum = 0.9;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
};

// Thread-safety: see strategy.h (one thread at a time).
class FedAvgM final : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit FedAvgM(FedAvgMOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "fedavgm"; }
  // A WeightedMeanAggregator (aggregation/weighted_mean.h).
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // One momentum step. kInvalidArgument when delta and global sizes differ;
  // kFailedPrecondition when the momentum was sized for a different model.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;
  // {u}; empty before the first Apply.
  std::vector<std::vector<float>> ExportState() const override;
  // Accepts {} (reset) or {u} with finite entries.
  absl::Status ImportState(std::vector<std::vector<float>> state) override;

 private:
  FedAvgMOptions options_;
  std::vector<float> momentum_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_FEDAVGM_H_
