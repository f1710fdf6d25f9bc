// File: aggregation/fedopt.h
//
// The FedOpt family of Reddi et al. 2021, "Adaptive Federated Optimization"
// (Algorithm 2). Each round's example-weighted mean delta Delta_t is treated
// as a pseudo-gradient (it points downhill) and fed to an adaptive server
// optimizer whose state persists across rounds:
//   m_t = beta1 * m_{t-1} + (1 - beta1) * Delta_t
//   v_t = <per-optimizer rule, see fedadam.h / fedyogi.h / fedadagrad.h>
//   x_{t+1} = x_t + eta * m_t / (sqrt(v_t) + tau)
// with m_{-1} = 0 and v_{-1} = tau^2 (the paper requires v_{-1} >= tau^2).
// As in the paper there is no bias correction. tau controls the degree of
// adaptivity: smaller is more adaptive.
//
// Memory: the round's streaming mean plus m and v, i.e. three float vectors
// of the model's size.
//
// State export (ExportState/ImportState): {m, v}, each of the model's size.
#ifndef FEDGE_AGGREGATION_FEDOPT_H_
#define FEDGE_AGGREGATION_FEDOPT_H_

#include <vector>

#include "aggregation/strategy.h"

namespace fedge {

struct FedOptOptions {
  // eta: the server step size. Must be > 0.
  double server_learning_rate = 0.01;
  // First-moment (momentum) decay, in [0, 1).
  double beta1 = 0.9;
  // Second-moment decay for FedAdam and FedYogi, in [0, 1). FedAdagrad
  // ignores it.
  double beta2 = 0.99;
  // tau: adaptivity / numerical floor of the denominator. Must be > 0.
  double tau = 1e-3;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
};

// The shared machinery; FedAdam, FedYogi and FedAdagrad differ only in
// UpdateSecondMoment. Thread-safety: see strategy.h (one thread at a time).
class FedOpt : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit FedOpt(FedOptOptions options) : options_(options) {}

  // A WeightedMeanAggregator (aggregation/weighted_mean.h).
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // One optimizer step. The state is sized by the first Apply (or by
  // ImportState). kInvalidArgument when delta and global sizes differ;
  // kFailedPrecondition when the state was sized for a different model.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;

  // {m, v}; empty before the first Apply.
  std::vector<std::vector<float>> ExportState() const override;
  // Accepts {} (reset) or {m, v} of equal, non-zero size with v > 0.
  absl::Status ImportState(std::vector<std::vector<float>> state) override;

  const FedOptOptions& options() const { return options_; }

 protected:
  // v <- rule(v, delta^2). REQUIRES: delta.size() == v.size().
  virtual void UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const = 0;

 private:
  FedOptOptions options_;
  std::vector<float> m_;
  std::vector<float> v_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_FEDOPT_H_
