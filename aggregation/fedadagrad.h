// File: aggregation/fedadagrad.h
//
// FedAdagrad (Reddi et al. 2021): the FedOpt server optimizer (aggregation/fedopt.h)
// with Adagrad's second-moment rule
//   v_t = v_{t-1} + Delta_t^2   (beta2 is not used)
// then x_{t+1} = x_t + eta * m_t / (sqrt(v_t) + tau).
// Memory: three float vectors of the model's size (streaming mean, m, v).
#ifndef FEDGE_AGGREGATION_FEDADAGRAD_H_
#define FEDGE_AGGREGATION_FEDADAGRAD_H_

#include "aggregation/fedopt.h"

namespace fedge {

// Thread-safety: see strategy.h (one thread at a time).
class FedAdagrad final : public FedOpt {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit FedAdagrad(FedOptOptions options = {}) : FedOpt(options) {}
  std::string_view name() const override { return "fedadagrad"; }

 protected:
  void UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const override;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_FEDADAGRAD_H_
