// File: aggregation/staleness.h
//
// Staleness weighting for asynchronous buffered aggregation (FedBuff,
// Nguyen et al. 2022). In an asynchronous federation a device trains on the
// global version it was given (its base version) while the coordinator keeps
// stepping; when its update arrives, its staleness is
//   s = current global version - base version  (>= 0).
// A stale delta points from an older model, so it is scaled down by the
// polynomial weight
//   w(s) = (1 + s)^(-a),  a >= 0,
// which is 1 for a fresh update and never exceeds 1. `ScaledUpdateView`
// applies that scale to an update without decoding it, so every strategy
// (and client-level DP, which clips what it is given) folds the shrunk delta
// through its usual `RoundAggregator::Add`.
//
// LibTorch-free. Pure functions and an immutable view; thread-safe.
#ifndef FEDGE_AGGREGATION_STALENESS_H_
#define FEDGE_AGGREGATION_STALENESS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/update_view.h"

namespace fedge {

// The [async] settings that shape staleness handling.
struct StalenessOptions {
  // a in w(s) = (1 + s)^-a; 0 weighs every update alike. Finite, >= 0.
  double exponent = 0.5;
  // Updates with s > max_staleness are refused (never folded). >= 0.
  int64_t max_staleness = 10;

  // kInvalidArgument naming the bad field.
  absl::Status Validate() const;
};

// w(s) = (1 + s)^-exponent. REQUIRES: staleness >= 0, exponent >= 0.
double StalenessWeight(int64_t staleness, double exponent);

// `inner` scaled by `scale` (in [0, 1] for staleness weights): every method
// answers as if the update's values were multiplied by it. Borrows `inner`,
// which must outlive the view.
class ScaledUpdateView final : public UpdateView {
 public:
  ScaledUpdateView(const UpdateView* inner, double scale) : inner_(inner), scale_(scale) {}
  int64_t size() const override { return inner_->size(); }
  void AccumulateInto(absl::Span<float> acc, float weight) const override;
  void DecodeInto(absl::Span<float> out) const override;
  double SquaredNorm() const override;
  double scale() const { return scale_; }

 private:
  const UpdateView* inner_;
  double scale_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_STALENESS_H_
