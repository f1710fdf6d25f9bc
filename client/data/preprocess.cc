#include "client/data/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

// The raw value of feature `i`, scaled to the input units.
double RawValue(const RawExample& raw, size_t i, double byte_scale) {
  if (const auto* floats = std::get_if<absl::Span<const float>>(&raw.features)) {
    return static_cast<double>((*floats)[i]);
  }
  return static_cast<double>(std::get<absl::Span<const uint8_t>>(raw.features)[i]) * byte_scale;
}

size_t RawSize(const RawExample& raw) {
  return std::visit([](const auto& span) { return span.size(); }, raw.features);
}

}  // namespace

absl::Status ValidatePreprocessOptions(const PreprocessOptions& o) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat("PreprocessOptions.", parts...)); };
  if (o.dim < 1) return bad("dim must be >= 1, got ", o.dim);
  if (o.num_classes < 1 || o.num_classes > std::numeric_limits<int32_t>::max()) {
    return bad("num_classes must be in [1, 2^31), got ", o.num_classes);
  }
  if (!(std::isfinite(o.byte_scale) && o.byte_scale > 0)) return bad("byte_scale must be finite and > 0, got ", o.byte_scale);
  if (std::isnan(o.min_value) || std::isnan(o.max_value) || !(o.min_value < o.max_value)) {
    return bad("min_value must be < max_value, got [", o.min_value, ", ", o.max_value, "]");
  }
  if (!(o.max_repaired_fraction >= 0 && o.max_repaired_fraction <= 1)) {
    return bad("max_repaired_fraction must be in [0, 1], got ", o.max_repaired_fraction);
  }
  if (!(std::isfinite(o.prior_mean) && o.prior_mean >= o.min_value && o.prior_mean <= o.max_value)) {
    // Repairs substitute the running mean, a blend of the prior and in-range
    // values; a prior inside the range keeps repaired values in range.
    return bad("prior_mean must be finite and within [min_value, max_value], got ", o.prior_mean);
  }
  if (!(std::isfinite(o.prior_std) && o.prior_std > 0)) return bad("prior_std must be finite and > 0, got ", o.prior_std);
  if (!(std::isfinite(o.prior_examples) && o.prior_examples >= 0)) {
    return bad("prior_examples must be finite and >= 0, got ", o.prior_examples);
  }
  if (!(std::isfinite(o.min_std) && o.min_std > 0)) return bad("min_std must be finite and > 0, got ", o.min_std);
  return absl::OkStatus();
}

absl::StatusOr<Preprocessor> Preprocessor::Create(const PreprocessOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidatePreprocessOptions(options));
  return Preprocessor(options);
}

Preprocessor::Preprocessor(const PreprocessOptions& options) : options_(options) {
  const size_t dim = static_cast<size_t>(options.dim);
  const size_t num_stats = options.statistics == StatisticsMode::kPerFeature ? dim : 1;
  count_.assign(num_stats, 0.0);
  moment_mean_.assign(num_stats, 0.0);
  moment_m2_.assign(num_stats, 0.0);
  mean_.assign(dim, 0.0);
  stddev_.assign(dim, 0.0);
  inv_std_.assign(dim, 0.0);
  RefreshEffective();
}

absl::Status Preprocessor::CheckLabel(std::optional<int64_t> label, std::optional<int32_t>* out) {
  if (!label.has_value()) {
    if (options_.require_label) {
      ++stats_.rejected_missing_label;
      return absl::InvalidArgumentError("example has no label but PreprocessOptions.require_label is set");
    }
    out->reset();
    return absl::OkStatus();
  }
  if (*label < 0 || *label >= options_.num_classes) {
    ++stats_.rejected_bad_label;
    return absl::InvalidArgumentError(
        absl::StrCat("example label ", *label, " is outside [0, ", options_.num_classes, ")"));
  }
  *out = static_cast<int32_t>(*label);
  return absl::OkStatus();
}

absl::Status Preprocessor::RepairValues(const RawExample& raw, std::vector<float>* out, std::vector<uint8_t>* valid,
                                        PreprocessStats* local) {
  const size_t dim = static_cast<size_t>(options_.dim);
  out->resize(dim);
  valid->assign(dim, 0);
  for (size_t i = 0; i < dim; ++i) {
    double v = RawValue(raw, i, options_.byte_scale);
    if (!std::isfinite(v)) {
      if (options_.non_finite == NonFinitePolicy::kReject) {
        ++stats_.rejected_non_finite;
        return absl::InvalidArgumentError(absl::StrCat("example feature ", i, " is ", v,
                                                       " (NonFinitePolicy::kReject); fix the sensor or decoder"));
      }
      v = mean_[i];
      ++local->values_non_finite_replaced;
    } else if (v < options_.min_value || v > options_.max_value) {
      switch (options_.out_of_range) {
        case OutOfRangePolicy::kReject:
          ++stats_.rejected_out_of_range;
          return absl::InvalidArgumentError(absl::StrCat("example feature ", i, " = ", v, " is outside [",
                                                         options_.min_value, ", ", options_.max_value,
                                                         "] (OutOfRangePolicy::kReject)"));
        case OutOfRangePolicy::kClamp:
          v = std::clamp(v, options_.min_value, options_.max_value);
          ++local->values_out_of_range_clamped;
          break;
        case OutOfRangePolicy::kReplaceWithMean:
          v = mean_[i];
          ++local->values_out_of_range_replaced;
          break;
      }
    } else {
      (*valid)[i] = 1;
    }
    (*out)[i] = static_cast<float>(v);
  }
  const int64_t repaired = local->values_repaired();
  if (static_cast<double>(repaired) > options_.max_repaired_fraction * static_cast<double>(dim)) {
    ++stats_.rejected_too_many_repairs;
    return absl::InvalidArgumentError(absl::StrCat("example needed ", repaired, " of ", dim,
                                                   " values repaired, more than PreprocessOptions.max_repaired_"
                                                   "fraction = ",
                                                   options_.max_repaired_fraction, "; treating it as garbage"));
  }
  return absl::OkStatus();
}

void Preprocessor::UpdateMoments(absl::Span<const float> values, absl::Span<const uint8_t> valid) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!valid[i]) continue;  // repaired values would bias the moments
    const size_t s = StatIndex(i);
    const double x = values[i];
    count_[s] += 1.0;
    const double delta = x - moment_mean_[s];
    moment_mean_[s] += delta / count_[s];
    moment_m2_[s] += delta * (x - moment_mean_[s]);
  }
}

void Preprocessor::RefreshEffective() {
  const bool global = options_.statistics == StatisticsMode::kGlobal;
  const double n0 = options_.prior_examples * (global ? static_cast<double>(options_.dim) : 1.0);
  const double mu0 = options_.prior_mean;
  const double var0 = options_.prior_std * options_.prior_std;
  for (size_t s = 0; s < count_.size(); ++s) {
    const double n1 = count_[s];
    const double n = n0 + n1;
    double mu = mu0;
    double sd = 0.0;
    if (n > 0) {
      const double d = moment_mean_[s] - mu0;
      mu = (n0 * mu0 + n1 * moment_mean_[s]) / n;
      const double m2 = n0 * var0 + moment_m2_[s] + d * d * n0 * n1 / n;
      sd = std::sqrt(std::max(m2 / n, 0.0));
    }
    const double inv = 1.0 / std::max(sd, options_.min_std);
    if (global) {
      std::fill(mean_.begin(), mean_.end(), mu);
      std::fill(stddev_.begin(), stddev_.end(), sd);
      std::fill(inv_std_.begin(), inv_std_.end(), inv);
    } else {
      mean_[s] = mu;
      stddev_[s] = sd;
      inv_std_[s] = inv;
    }
  }
}

absl::StatusOr<ProcessedExample> Preprocessor::Process(const RawExample& raw) {
  ++stats_.examples_seen;
  const size_t size = RawSize(raw);
  if (size != static_cast<size_t>(options_.dim)) {
    ++stats_.rejected_wrong_dimension;
    return absl::InvalidArgumentError(
        absl::StrCat("example has ", size, " features but PreprocessOptions.dim is ", options_.dim));
  }
  ProcessedExample result;
  result.arrival_time = raw.arrival_time;
  FEDGE_RETURN_IF_ERROR(CheckLabel(raw.label, &result.label));

  PreprocessStats local;
  std::vector<uint8_t> valid;
  FEDGE_RETURN_IF_ERROR(RepairValues(raw, &result.features, &valid, &local));

  ++stats_.accepted;
  result.repaired_values = local.values_repaired();
  if (result.repaired_values > 0) ++stats_.repaired_examples;
  stats_.values_non_finite_replaced += local.values_non_finite_replaced;
  stats_.values_out_of_range_clamped += local.values_out_of_range_clamped;
  stats_.values_out_of_range_replaced += local.values_out_of_range_replaced;

  if (!frozen_) {
    UpdateMoments(result.features, valid);
    RefreshEffective();
  }
  if (options_.normalize) {
    for (size_t i = 0; i < result.features.size(); ++i) {
      result.features[i] = static_cast<float>((result.features[i] - mean_[i]) * inv_std_[i]);
    }
  }
  return result;
}

}  // namespace fedge
