// File: aggregation/fedprox.h
//
// FedProx (Li et al. 2020). Devices minimise their local loss plus the
// proximal term (mu/2) * ||w - w_global||^2, which keeps heterogeneous
// devices from drifting far from the round's global model. The term lives in
// the device trainer (models/training.h); this strategy only asks for it by
// setting `TrainConfig.proximal_mu` in ConfigureTrain, and otherwise
// combines and applies updates exactly like FedAvg:
//   x <- x + eta * sum_i(n_i * delta_i) / sum_i(n_i).
// Memory: one accumulator of the model's size per round (streaming).
#ifndef FEDGE_AGGREGATION_FEDPROX_H_
#define FEDGE_AGGREGATION_FEDPROX_H_

#include "aggregation/strategy.h"

namespace fedge {

struct FedProxOptions {
  // mu of the proximal term the devices add to their loss. Must be >= 0
  // (0 makes FedProx identical to FedAvg).
  double proximal_mu = 0.01;
  // Scales the averaged delta. Must be > 0.
  double server_learning_rate = 1.0;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
};

// Thread-safety: see strategy.h. Stateless across rounds.
class FedProx final : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit FedProx(FedProxOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "fedprox"; }
  // Sets config.proximal_mu; leaves every other field alone.
  void ConfigureTrain(uint64_t round, proto::TrainConfig& config) const override;
  // A WeightedMeanAggregator (aggregation/weighted_mean.h).
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // global += server_learning_rate * delta; kInvalidArgument on size mismatch.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;

 private:
  FedProxOptions options_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_FEDPROX_H_
