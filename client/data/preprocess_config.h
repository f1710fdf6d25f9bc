// File: client/data/preprocess_config.h
//
// Reads a `[data.preprocess]` table (fedge-device) into PreprocessOptions
// (preprocess.h). Keys, all optional, over the values already in the
// options (the caller sets the defaults that suit its data first):
//
//   min_value = 0, max_value = 1     # valid (scaled) range; inf allowed
//   non_finite = "mean"              # mean | reject   (NaN/Inf values)
//   out_of_range = "clamp"           # clamp | mean | reject
//   max_repaired_fraction = 0.5      # reject examples with more repairs
//   normalize = true                 # (x - mean) / std
//   statistics = "global"            # global | per_feature
//   prior_mean, prior_std, prior_examples   # warm-up prior of the statistics
//
// Problems are recorded on the section; cross-field checks are
// ValidatePreprocessOptions'. LibTorch-free.
#ifndef FEDGE_CLIENT_DATA_PREPROCESS_CONFIG_H_
#define FEDGE_CLIENT_DATA_PREPROCESS_CONFIG_H_

#include "client/data/preprocess.h"
#include "core/config.h"

namespace fedge {

void ReadPreprocessTable(ConfigSection table, PreprocessOptions* options);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_PREPROCESS_CONFIG_H_
