// File: aggregation/krum.h
//
// Krum and Multi-Krum (Blanchard et al. 2017, "Machine Learning with
// Adversaries: Byzantine Tolerant Gradient Descent"). With n updates of which
// at most f are Byzantine, each update i gets the score
//   s(i) = sum of ||update_i - update_j||^2 over its n - f - 2 nearest
//          neighbours j != i,
// Krum returns the update with the lowest score; Multi-Krum returns the
// unweighted mean of the m updates with the lowest scores (ties go to the
// earlier update). Then x <- x + eta * delta. Requires n >= 2f + 3.
// Example counts are ignored: a device could inflate its own.
//
// Memory: NOT streaming. The aggregator keeps every update of the round
// (max_updates * num_elements floats at most; Add returns
// kResourceExhausted beyond max_updates) plus an n x n distance matrix.
// Time: O(n^2 * d).
#ifndef FEDGE_AGGREGATION_KRUM_H_
#define FEDGE_AGGREGATION_KRUM_H_

#include "aggregation/strategy.h"

namespace fedge {

struct KrumOptions {
  // f: the number of Byzantine updates to tolerate. Must be >= 0.
  int64_t num_byzantine = 0;
  // m: how many best-scored updates are averaged. 1 is Krum; 0 means n - f
  // (decided when the round closes); any other m >= 2 is Multi-Krum with that
  // m and raises min_updates() to at least m.
  int64_t num_selected = 1;
  // Scales the combined delta. Must be > 0.
  double server_learning_rate = 1.0;
  // Most updates one round may hold (memory bound). Must be >= min_updates.
  int64_t max_updates = 512;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
  // max(2f + 3, m).
  int64_t MinUpdates() const;
};

// Thread-safety: see strategy.h (one thread at a time). Stateless across
// rounds.
class Krum final : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit Krum(KrumOptions options = {}) : options_(options) {}
  // "krum" when num_selected == 1, "multikrum" otherwise.
  std::string_view name() const override;
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // global += server_learning_rate * delta; kInvalidArgument on size mismatch.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;
  int64_t min_updates() const override { return options_.MinUpdates(); }

 private:
  KrumOptions options_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_KRUM_H_
