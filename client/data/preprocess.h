// File: client/data/preprocess.h
//
// Robust preprocessing of the raw examples a device collects, before they are
// stored for training. Device data is untrusted in the mundane sense: sensors
// glitch, buffers are truncated, labels come from flaky user feedback. The
// `Preprocessor` turns each raw example into a normalised float vector or
// rejects it, and never crashes on garbage:
//
//   1. shape: a feature vector of any length other than `dim` is rejected;
//   2. label: a label outside [0, num_classes) is rejected, and so is a
//      missing label when `require_label` is set;
//   3. values (uint8 inputs are first scaled by `byte_scale`): NaN/±Inf are
//      replaced by the running mean or reject the example; finite values
//      outside [min_value, max_value] are clamped, replaced by the running
//      mean, or reject the example (`NonFinitePolicy`, `OutOfRangePolicy`);
//      an example with more than `max_repaired_fraction` of its values
//      repaired is rejected as garbage;
//   4. statistics: the in-range finite values of accepted examples update
//      running moments (Welford), per feature or over all features;
//   5. normalisation: x' = (x − μ) / max(σ, min_std).
//
// Warm-up. The running moments are blended with a prior worth
// `prior_examples` examples (Chan et al.'s pairwise combination of means and
// sums of squared deviations), so the first examples are normalised with the
// prior and the data take over as they accumulate:
//   n = n0 + n1,  μ = (n0·μ0 + n1·μ1) / n,
//   M2 = n0·σ0² + M2₁ + (μ1 − μ0)² · n0·n1 / n,  σ² = M2 / n.
// The default prior is the Fashion-MNIST pixel distribution (μ0 = 0.2860,
// σ0 = 0.3530 for pixels scaled to [0, 1]).
//
// Freeze. `Freeze()` fixes μ and σ: later examples are still checked,
// repaired and normalised but no longer move the statistics, so the
// statistics used to train a model are the ones its inference path applies
// (copy the frozen Preprocessor, or read `mean()`/`stddev()`).
//
// Every outcome is counted in `PreprocessStats`; processing is
// deterministic (no randomness, fixed evaluation order).
#ifndef FEDGE_CLIENT_DATA_PREPROCESS_H_
#define FEDGE_CLIENT_DATA_PREPROCESS_H_

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace fedge {

// Pixel statistics of the Fashion-MNIST training set, pixels scaled to
// [0, 1] (the same figures as models/dataset.h, which needs LibTorch).
inline constexpr double kFashionMnistPixelMean = 0.2860;
inline constexpr double kFashionMnistPixelStd = 0.3530;

// One example as it arrives on the device. The spans are borrowed and must
// outlive the call that receives the example.
struct RawExample {
  // Feature values: floats, or bytes (e.g. 8-bit pixels) scaled by
  // PreprocessOptions::byte_scale.
  std::variant<absl::Span<const float>, absl::Span<const uint8_t>> features;
  // Class label, if the example is labelled. Checked against num_classes.
  std::optional<int64_t> label;
  // When the example arrived; stored with it, not interpreted.
  absl::Time arrival_time = absl::UnixEpoch();

  static RawExample Floats(absl::Span<const float> values, std::optional<int64_t> label = std::nullopt,
                           absl::Time arrival_time = absl::UnixEpoch()) {
    return RawExample{values, label, arrival_time};
  }
  static RawExample Bytes(absl::Span<const uint8_t> values, std::optional<int64_t> label = std::nullopt,
                          absl::Time arrival_time = absl::UnixEpoch()) {
    return RawExample{values, label, arrival_time};
  }
};

enum class NonFinitePolicy {
  kReplaceWithMean,  // NaN/±Inf becomes the feature's running mean
  kReject,           // the example is rejected
};

enum class OutOfRangePolicy {
  kClamp,            // clamped to [min_value, max_value]
  kReplaceWithMean,  // becomes the feature's running mean
  kReject,           // the example is rejected
};

enum class StatisticsMode {
  kGlobal,      // one mean and variance over all features (pixels)
  kPerFeature,  // a mean and variance per feature
};

struct PreprocessOptions {
  // Features per example (28 × 28 for Fashion-MNIST). >= 1.
  int64_t dim = 784;
  // Labels must lie in [0, num_classes). >= 1.
  int64_t num_classes = 10;
  // Reject examples without a label (set when the data are only for training).
  bool require_label = false;
  // uint8 features are multiplied by this. Finite, > 0.
  double byte_scale = 1.0 / 255.0;
  // Valid range of a (scaled) feature value; min_value < max_value, either
  // may be infinite to leave that side open.
  double min_value = 0.0;
  double max_value = 1.0;
  NonFinitePolicy non_finite = NonFinitePolicy::kReplaceWithMean;
  OutOfRangePolicy out_of_range = OutOfRangePolicy::kClamp;
  // Examples with more than this fraction of values repaired are rejected.
  // In [0, 1]; 1 never rejects for repairs.
  double max_repaired_fraction = 0.5;
  // Normalise to zero mean and unit variance; false leaves values in the
  // input scale (statistics are still tracked for repairs).
  bool normalize = true;
  StatisticsMode statistics = StatisticsMode::kGlobal;
  // Prior moments and their weight, in examples (in kGlobal mode an example
  // contributes `dim` values to the prior as to the data). prior_std > 0
  // finite; prior_examples >= 0 (0 = no prior: the statistics start from the
  // first accepted example and σ starts at min_std).
  double prior_mean = kFashionMnistPixelMean;
  double prior_std = kFashionMnistPixelStd;
  double prior_examples = 100.0;
  // Floor on σ in the normalisation, so constant features do not explode.
  // Finite, > 0.
  double min_std = 1e-3;
};

// kInvalidArgument naming the offending field when `options` is out of range.
absl::Status ValidatePreprocessOptions(const PreprocessOptions& options);

// Counters of everything the preprocessor did. Invariant:
//   examples_seen == accepted + rejected().
// The per-value counters cover accepted examples only.
struct PreprocessStats {
  int64_t examples_seen = 0;
  int64_t accepted = 0;
  // Accepted examples with at least one repaired value.
  int64_t repaired_examples = 0;

  int64_t rejected_wrong_dimension = 0;
  int64_t rejected_bad_label = 0;       // label outside [0, num_classes)
  int64_t rejected_missing_label = 0;   // require_label and no label
  int64_t rejected_non_finite = 0;      // NonFinitePolicy::kReject
  int64_t rejected_out_of_range = 0;    // OutOfRangePolicy::kReject
  int64_t rejected_too_many_repairs = 0;

  int64_t values_non_finite_replaced = 0;
  int64_t values_out_of_range_clamped = 0;
  int64_t values_out_of_range_replaced = 0;

  int64_t rejected() const {
    return rejected_wrong_dimension + rejected_bad_label + rejected_missing_label + rejected_non_finite +
           rejected_out_of_range + rejected_too_many_repairs;
  }
  int64_t values_repaired() const {
    return values_non_finite_replaced + values_out_of_range_clamped + values_out_of_range_replaced;
  }
};

// A checked, repaired and normalised example.
struct ProcessedExample {
  std::vector<float> features;  // `dim` values
  std::optional<int32_t> label;
  absl::Time arrival_time;
  int64_t repaired_values = 0;
};

// Ownership: self-contained value type; copy it to give the inference path
// the same (frozen) statistics as training.
// Thread-safety: thread-compatible (one thread at a time; const methods may
// run concurrently).
class Preprocessor {
 public:
  // kInvalidArgument when the options are invalid.
  static absl::StatusOr<Preprocessor> Create(const PreprocessOptions& options);

  // Checks, repairs, updates the statistics (unless frozen) and normalises
  // `raw`. Every call is counted in stats(). Returns kInvalidArgument, with a
  // message naming the problem, when the example is rejected; the
  // statistics are then unchanged. Never crashes on any input.
  absl::StatusOr<ProcessedExample> Process(const RawExample& raw);

  // Fixes the statistics in use now; Process keeps normalising with them.
  void Freeze() { frozen_ = true; }
  // Resumes updating the statistics from where they were.
  void Unfreeze() { frozen_ = false; }
  bool frozen() const { return frozen_; }

  // The μ and σ (before the min_std floor) now applied, per feature (`dim`
  // values; all equal in kGlobal mode), in the scaled input units.
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& stddev() const { return stddev_; }
  // Values that have updated the statistics (per feature in kPerFeature
  // mode: the count of feature 0), excluding the prior.
  double observed_count() const { return count_.empty() ? 0.0 : count_[0]; }

  const PreprocessStats& stats() const { return stats_; }
  const PreprocessOptions& options() const { return options_; }

 private:
  explicit Preprocessor(const PreprocessOptions& options);
  // Checks the label; returns the reason for rejection or OK.
  absl::Status CheckLabel(std::optional<int64_t> label, std::optional<int32_t>* out);
  // Scales, checks and repairs the values into `out`; counts repairs in
  // `local`. Returns kInvalidArgument when a policy rejects the example.
  absl::Status RepairValues(const RawExample& raw, std::vector<float>* out, std::vector<uint8_t>* valid,
                            PreprocessStats* local);
  // Folds the valid values of an accepted example into the moments.
  void UpdateMoments(absl::Span<const float> values, absl::Span<const uint8_t> valid);
  // Recomputes mean_ / stddev_ / inv_std_ from the prior and the moments.
  void RefreshEffective();
  size_t StatIndex(size_t feature) const {
    return options_.statistics == StatisticsMode::kPerFeature ? feature : 0;
  }

  PreprocessOptions options_;
  bool frozen_ = false;
  PreprocessStats stats_;
  // Welford moments of the observed values, one entry per tracked statistic
  // (1 in kGlobal mode, dim in kPerFeature mode).
  std::vector<double> count_;
  std::vector<double> moment_mean_;
  std::vector<double> moment_m2_;
  // Effective statistics (prior blended with the moments), per feature.
  std::vector<double> mean_;
  std::vector<double> stddev_;
  std::vector<double> inv_std_;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_PREPROCESS_H_
