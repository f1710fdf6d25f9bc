// File: client/drift/page_hinkley.h
//
// The Page-Hinkley test for a change in the mean of a stream.
//
// References:
//   E. S. Page, "Continuous inspection schemes", Biometrika 41(1/2), 1954.
//   D. V. Hinkley, "Inference about the change-point from cumulative sum
//     tests", Biometrika 58(3), 1971.
//   The parameterisation (δ, λ, α, minimum instances) and the defaults are
//   those of the common stream-mining form of the test, as used for concept
//   drift by Gama, Sebastião & Rodrigues, "On evaluating stream learning
//   algorithms", Machine Learning 90, 2013, and by the MOA framework.
//
// For an increase (the default, "up"), after each value x_t:
//   x̄_t = running mean of x_1..x_t
//   m_t = α·m_{t-1} + (x_t − x̄_t − δ)        (m_0 = 0)
//   M_t = min(M_{t-1}, m_t)
//   PH_t = m_t − M_t                          (the reported statistic)
//   drift when t ≥ min_samples and PH_t > λ.
// The two-sided test also runs the mirror image for decreases,
//   m'_t = α·m'_{t-1} + (x_t − x̄_t + δ), M'_t = max(M'_{t-1}, m'_t),
//   PH'_t = M'_t − m'_t, and reports max(PH_t, PH'_t).
// After a drift the test restarts (mean, sums and counters of the current
// regime), keeping samples_seen.
//
// Scale: δ and λ are in the units of the monitored value. The defaults were
// chosen for values in [0, 1] such as 0/1 errors or 1 − confidence (standard
// deviation up to 0.5). For a stream with noise σ the expected time between
// false alarms is roughly (σ²/2δ²)(e^{2δλ/σ²} − 1 − 2δλ/σ²) samples and the
// delay for a mean shift Δ ≫ δ roughly λ/Δ samples; see client/drift/README.md
// for measured values and for settings suited to unit-variance streams.
#ifndef FEDGE_CLIENT_DRIFT_PAGE_HINKLEY_H_
#define FEDGE_CLIENT_DRIFT_PAGE_HINKLEY_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/drift/detector.h"

namespace fedge {

struct PageHinkleyOptions {
  // δ: magnitude of changes that are tolerated (subtracted from every
  // deviation). Must be ≥ 0 and finite.
  double delta = 0.005;
  // λ: alarm threshold on PH_t. Must be > 0 and finite.
  double threshold = 50.0;
  // α: forgetting factor applied to the cumulative sum. Must be in (0, 1].
  double alpha = 1.0 - 0.0001;
  // No alarm before this many values since the start or the last drift.
  int64_t min_samples = 30;
  // Also detect decreases of the mean.
  bool two_sided = false;
};

// kInvalidArgument naming the offending field when `options` is out of range.
absl::Status ValidatePageHinkleyOptions(const PageHinkleyOptions& options);

// Thread-safety: thread-compatible (see DriftDetector).
class PageHinkley final : public DriftDetector {
 public:
  static constexpr std::string_view kName = "page_hinkley";

  // kInvalidArgument when the options are invalid.
  static absl::StatusOr<std::unique_ptr<PageHinkley>> Create(const PageHinkleyOptions& options);

  DriftSignal Update(double value) override;
  void Reset() override;
  std::string_view name() const override { return kName; }
  uint64_t samples_seen() const override { return samples_seen_; }

  const PageHinkleyOptions& options() const { return options_; }

 private:
  explicit PageHinkley(const PageHinkleyOptions& options) : options_(options) {}
  // Restarts the test on a new regime; keeps samples_seen_.
  void Restart();
  double Statistic() const;

  PageHinkleyOptions options_;
  uint64_t samples_seen_ = 0;
  int64_t n_ = 0;          // values in the current regime
  double mean_ = 0;        // x̄ of the current regime
  double sum_up_ = 0;      // m_t
  double min_up_ = 0;      // M_t
  double sum_down_ = 0;    // m'_t
  double max_down_ = 0;    // M'_t
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_PAGE_HINKLEY_H_
