// File: aggregation/coordinate_median.h
//
// Coordinate-wise median (Yin et al. 2018): every element of the combined
// delta is the median of that element over the round's updates (the mean of
// the two middle values when the count is even):
//   delta[j] = median_i(update_i[j]);   x <- x + eta * delta
// It tolerates up to half of the updates being arbitrary (Byzantine).
// Example counts are ignored: a device could inflate its own.
//
// Memory: NOT streaming. The aggregator keeps every update of the round,
// max_updates * num_elements floats at most; Add returns kResourceExhausted
// beyond max_updates. Time: O(n * d) with a selection per coordinate.
#ifndef FEDGE_AGGREGATION_COORDINATE_MEDIAN_H_
#define FEDGE_AGGREGATION_COORDINATE_MEDIAN_H_

#include "aggregation/strategy.h"

namespace fedge {

struct CoordinateMedianOptions {
  // Scales the combined delta. Must be > 0.
  double server_learning_rate = 1.0;
  // Most updates one round may hold (memory bound). Must be >= 1.
  int64_t max_updates = 512;

  // kInvalidArgument naming the offending field.
  absl::Status Validate() const;
};

// Thread-safety: see strategy.h (one thread at a time). Stateless across
// rounds.
class CoordinateMedian final : public Strategy {
 public:
  // REQUIRES: options.Validate().ok() (the registry reader checks it).
  explicit CoordinateMedian(CoordinateMedianOptions options = {}) : options_(options) {}
  std::string_view name() const override { return "median"; }
  std::unique_ptr<RoundAggregator> BeginRound(int64_t num_elements) override;
  // global += server_learning_rate * delta; kInvalidArgument on size mismatch.
  absl::Status Apply(absl::Span<const float> delta, absl::Span<float> global) override;

 private:
  CoordinateMedianOptions options_;
};

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_COORDINATE_MEDIAN_H_
