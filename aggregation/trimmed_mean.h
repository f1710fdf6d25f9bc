// File: aggregation/trimmed_mean.h
//
// Coordinate-wise trimmed mean (Yin et al. 2018): for every element, drop
// the k = floor(beta * n) smallest and the k largest values over the round's
// n updates and average the n - 2k that remain:
//   delta[j] = mean(sorted_i(update_i[j])[k .. n-k-1]);  x <- x + eta * delta
// It tolerates up to k Byzantine updates. beta = 0 is the unweighted mean.
// Example counts are ignored: a device could inflate its own.
//
// Memory: NOT streaming. The aggregator keeps every update of the round,
// max_updates * num_elements floats at most; Add returns kResourceExhausted
// beyond max_updates. Time: O(n * d) with two selections per coordinate.
#ifndef FEDGE_AGGREGATION_TRIMMED_MEAN_H_
#define FEDGE_AGGREGATION_TRIMMED_MEAN_H_

#include "aggregation/strategy.h"

namespace fedge {

struct TrimmedMeanOptions {
  // beta: fraction of the updates trimmed from EACH side, in [0, 0.5).
  double trim_fraction = 0.1;
  // Scales the combined delta. Must be > 0.
  double server_learning_rate = 1.0;
  // Most updates one round may hold (memory bound). Must be >= 1.
  int64_t max_updates = 512;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
};

// Thread-safety: see strategy.h (one thread at a time). Stateless across
// rounds.
class TrimmedMean final : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit TrimmedMean(TrimmedMeanOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "trimmed_mean"; }
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // global += server_learning_rate * delta; kInvalidArgument on size mismatch.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;

 private:
  TrimmedMeanOptions options_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_TRIMMED_MEAN_H_
