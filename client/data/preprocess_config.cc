#include "client/data/preprocess_config.h"

#include <limits>
#include <string>

namespace fedge {

void ReadPreprocessTable(ConfigSection t, PreprocessOptions* o) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  t.Read("min_value", &o->min_value, -kInf, kInf);
  t.Read("max_value", &o->max_value, -kInf, kInf);
  std::string non_finite = o->non_finite == NonFinitePolicy::kReject ? "reject" : "mean";
  t.Read("non_finite", &non_finite, {"mean", "reject"});
  o->non_finite = non_finite == "reject" ? NonFinitePolicy::kReject : NonFinitePolicy::kReplaceWithMean;
  std::string out_of_range = o->out_of_range == OutOfRangePolicy::kReject            ? "reject"
                             : o->out_of_range == OutOfRangePolicy::kReplaceWithMean ? "mean"
                                                                                     : "clamp";
  t.Read("out_of_range", &out_of_range, {"clamp", "mean", "reject"});
  o->out_of_range = out_of_range == "reject" ? OutOfRangePolicy::kReject
                    : out_of_range == "mean" ? OutOfRangePolicy::kReplaceWithMean
                                             : OutOfRangePolicy::kClamp;
  t.Read("max_repaired_fraction", &o->max_repaired_fraction, 0, 1);
  t.Read("normalize", &o->normalize);
  std::string statistics = o->statistics == StatisticsMode::kPerFeature ? "per_feature" : "global";
  t.Read("statistics", &statistics, {"global", "per_feature"});
  o->statistics = statistics == "per_feature" ? StatisticsMode::kPerFeature : StatisticsMode::kGlobal;
  t.Read("prior_mean", &o->prior_mean, -1e30, 1e30);
  t.Read("prior_std", &o->prior_std, 1e-30, 1e30);
  t.Read("prior_examples", &o->prior_examples, 0, 1e9);
}

}  // namespace fedge
