// File: client/data/preprocess_config.h
//
// The `[data.preprocess]` table of fedge-device: overrides of the
// PreprocessOptions (preprocess.h) that the device otherwise picks for its
// data format (images: [0, 1] pixels, the Fashion-MNIST prior, one global
// mean and deviation; CSV: an open range, per-feature statistics from a
// weak N(0, 1) prior). Keys, all optional:
//
//   min_value = 0, max_value = 1     # valid (scaled) range; -inf / inf allowed
//   non_finite = "mean"              # mean | reject   (NaN/Inf values)
//   out_of_range = "clamp"           # clamp | mean | reject
//   max_repaired_fraction = 0.5      # reject examples with more repairs
//   normalize = true                 # (x - mean) / std
//   statistics = "global"            # global | per_feature
//   prior_mean, prior_std, prior_examples   # warm-up prior of the statistics
//
// Range problems are recorded on the section; cross-field checks are
// ValidatePreprocessOptions'. LibTorch-free.
#ifndef FEDGE_CLIENT_DATA_PREPROCESS_CONFIG_H_
#define FEDGE_CLIENT_DATA_PREPROCESS_CONFIG_H_

#include <optional>

#include "client/data/preprocess.h"
#include "core/config.h"

namespace fedge {

// The keys a file set; the rest keep the format's defaults.
struct PreprocessOverrides {
  std::optional<double> min_value;
  std::optional<double> max_value;
  std::optional<NonFinitePolicy> non_finite;
  std::optional<OutOfRangePolicy> out_of_range;
  std::optional<double> max_repaired_fraction;
  std::optional<bool> normalize;
  std::optional<StatisticsMode> statistics;
  std::optional<double> prior_mean;
  std::optional<double> prior_std;
  std::optional<double> prior_examples;

  // Writes the set fields over `options`.
  void ApplyTo(PreprocessOptions* options) const;
};

// Reads the table (absent keys stay unset in `*overrides`).
void ReadPreprocessTable(ConfigSection table, PreprocessOverrides* overrides);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_PREPROCESS_CONFIG_H_
