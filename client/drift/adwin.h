// File: client/drift/adwin.h
//
// ADWIN2: adaptive windowing over an exponential histogram.
//
// Reference:
//   A. Bifet and R. Gavaldà, "Learning from time-changing data with adaptive
//   windowing", SIAM International Conference on Data Mining (SDM), 2007.
//
// ADWIN keeps a window W of the most recent values and drops its oldest part
// whenever two sub-windows W = W0·W1 (W0 older) have means that differ by
// more than
//   ε_cut = sqrt((2/m) · σ²_W · ln(2/δ')) + (2/(3m)) · ln(2/δ'),
//   m = 1 / (1/n0 + 1/n1),   δ' = δ / n,
// where σ²_W is the variance of W and n = |W| (the paper's variance-based
// bound, §3). Dropping continues until no cut satisfies the test; the drop
// is the drift signal. The window therefore grows while the stream is
// stationary and shrinks to the new regime after a change.
//
// ADWIN2 (§4) stores W as an exponential histogram: at most M buckets
// holding 2^i values for each i, each bucket keeping only its sum and its
// sum of squared deviations, so memory is O(M · log(W/M)) and only the
// O(M · log W) bucket boundaries are tested as cuts. As in the paper's
// reference implementation, cuts are tested once every `clock` = 32 values
// and only with at least `min_subwindow` = 5 values on each side.
//
// Defaults: δ = 0.002 (the paper's experiments), M = 5, clock = 32,
// min_subwindow = 5. The (2/3m) term of ε_cut assumes values in [0, 1];
// larger-range values (raw losses) work but make the test more sensitive, so
// prefer normalised losses, 1 − confidence or 0/1 errors.
//
// The reported statistic is |μ̂_W0 − μ̂_W1| at the first cut found when a
// drift is signalled (the magnitude of the change), and 0 otherwise.
#ifndef FEDGE_CLIENT_DRIFT_ADWIN_H_
#define FEDGE_CLIENT_DRIFT_ADWIN_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/drift/detector.h"

namespace fedge {

struct AdwinOptions {
  // δ: confidence parameter of the cut test, in (0, 1).
  double delta = 0.002;
  // M: buckets of each size kept before the two oldest merge, in [2, 1024].
  int max_buckets = 5;
  // Cuts are tested once every `clock` values; >= 1.
  int64_t clock = 32;
  // Each side of a tested cut holds at least this many values; >= 1.
  int64_t min_subwindow = 5;
};

// kInvalidArgument naming the offending field when `options` is out of range.
absl::Status ValidateAdwinOptions(const AdwinOptions& options);

// Thread-safety: thread-compatible (see DriftDetector).
class Adwin final : public DriftDetector {
 public:
  static constexpr std::string_view kName = "adwin";

  // kInvalidArgument when the options are invalid.
  static absl::StatusOr<std::unique_ptr<Adwin>> Create(const AdwinOptions& options);

  DriftSignal Update(double value) override;
  void Reset() override;
  std::string_view name() const override { return kName; }
  uint64_t samples_seen() const override { return samples_seen_; }

  // The current window: its length, mean and (population) variance.
  uint64_t width() const { return width_; }
  double mean() const { return width_ > 0 ? sum_ / static_cast<double>(width_) : 0.0; }
  double variance() const { return width_ > 0 ? m2_ / static_cast<double>(width_) : 0.0; }
  // Buckets in the histogram: O(M · log(width / M)).
  size_t num_buckets() const;

 private:
  // A bucket of 2^level values: their sum and sum of squared deviations
  // from their mean.
  struct Bucket {
    double sum = 0;
    double m2 = 0;
  };

  explicit Adwin(const AdwinOptions& options) : options_(options) {}
  void Insert(double value);
  void Compress();
  void DropOldest();
  // Tests every bucket boundary as a cut; returns the mean difference of the
  // first cut that passes the test, or a negative value when none does.
  double FindCut() const;

  AdwinOptions options_;
  uint64_t samples_seen_ = 0;
  // rows_[i] holds the buckets of 2^i values, newest at the front.
  std::vector<std::deque<Bucket>> rows_;
  uint64_t width_ = 0;
  double sum_ = 0;
  double m2_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_ADWIN_H_
