#include "client/data/preprocess_config.h"

#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace fedge {
namespace {

void ReadNumber(ConfigSection& t, std::string_view key, double lo, double hi, std::optional<double>* out) {
  if (!t.Has(key)) return;
  double v = out->value_or(0);
  t.Read(key, &v, lo, hi);
  *out = v;
}

// Reads a string key restricted to `names`; returns its index, or nullopt
// when absent.
std::optional<size_t> ReadChoice(ConfigSection& t, std::string_view key, const std::vector<std::string>& names) {
  if (!t.Has(key)) return std::nullopt;
  std::string v = names[0];
  t.Read(key, &v, names);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == v) return i;
  }
  return std::nullopt;
}

}  // namespace

void ReadPreprocessTable(ConfigSection t, PreprocessOverrides* o) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  ReadNumber(t, "min_value", -kInf, kInf, &o->min_value);
  ReadNumber(t, "max_value", -kInf, kInf, &o->max_value);
  if (auto i = ReadChoice(t, "non_finite", {"mean", "reject"})) {
    o->non_finite = *i == 1 ? NonFinitePolicy::kReject : NonFinitePolicy::kReplaceWithMean;
  }
  if (auto i = ReadChoice(t, "out_of_range", {"clamp", "mean", "reject"})) {
    o->out_of_range = *i == 2 ? OutOfRangePolicy::kReject
                      : *i == 1 ? OutOfRangePolicy::kReplaceWithMean
                                : OutOfRangePolicy::kClamp;
  }
  ReadNumber(t, "max_repaired_fraction", 0, 1, &o->max_repaired_fraction);
  if (t.Has("normalize")) {
    bool v = true;
    t.Read("normalize", &v);
    o->normalize = v;
  }
  if (auto i = ReadChoice(t, "statistics", {"global", "per_feature"})) {
    o->statistics = *i == 1 ? StatisticsMode::kPerFeature : StatisticsMode::kGlobal;
  }
  ReadNumber(t, "prior_mean", -1e30, 1e30, &o->prior_mean);
  ReadNumber(t, "prior_std", 1e-30, 1e30, &o->prior_std);
  ReadNumber(t, "prior_examples", 0, 1e9, &o->prior_examples);
}

void PreprocessOverrides::ApplyTo(PreprocessOptions* o) const {
  if (min_value) o->min_value = *min_value;
  if (max_value) o->max_value = *max_value;
  if (non_finite) o->non_finite = *non_finite;
  if (out_of_range) o->out_of_range = *out_of_range;
  if (max_repaired_fraction) o->max_repaired_fraction = *max_repaired_fraction;
  if (normalize) o->normalize = *normalize;
  if (statistics) o->statistics = *statistics;
  if (prior_mean) o->prior_mean = *prior_mean;
  if (prior_std) o->prior_std = *prior_std;
  if (prior_examples) o->prior_examples = *prior_examples;
}

}  // namespace fedge
