#include "client/drift/page_hinkley.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "client/drift/detector_registry.h"
#include "core/status.h"

namespace fedge {

absl::Status ValidatePageHinkleyOptions(const PageHinkleyOptions& options) {
  if (!std::isfinite(options.delta) || options.delta < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_hinkley: delta must be a finite value >= 0, got ", options.delta));
  }
  if (!std::isfinite(options.threshold) || options.threshold <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_hinkley: threshold (lambda) must be a finite value > 0, got ", options.threshold));
  }
  if (!(options.alpha > 0 && options.alpha <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_hinkley: alpha (forgetting factor) must be in (0, 1], got ", options.alpha));
  }
  if (options.min_samples < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_hinkley: min_samples must be >= 1, got ", options.min_samples));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PageHinkley>> PageHinkley::Create(const PageHinkleyOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidatePageHinkleyOptions(options));
  return std::unique_ptr<PageHinkley>(new PageHinkley(options));
}

void PageHinkley::Reset() {
  samples_seen_ = 0;
  Restart();
}

void PageHinkley::Restart() {
  n_ = 0;
  mean_ = 0;
  sum_up_ = min_up_ = 0;
  sum_down_ = max_down_ = 0;
}

double PageHinkley::Statistic() const {
  const double up = sum_up_ - min_up_;
  return options_.two_sided ? std::max(up, max_down_ - sum_down_) : up;
}

DriftSignal PageHinkley::Update(double value) {
  if (!std::isfinite(value)) return {DriftState::kNone, Statistic(), samples_seen_};
  ++samples_seen_;
  ++n_;
  // The deviation is taken from the mean including x_t, as in Page's
  // cumulative sum with a running reference value.
  mean_ += (value - mean_) / static_cast<double>(n_);
  const double deviation = value - mean_;
  sum_up_ = options_.alpha * sum_up_ + (deviation - options_.delta);
  min_up_ = std::min(min_up_, sum_up_);
  if (options_.two_sided) {
    sum_down_ = options_.alpha * sum_down_ + (deviation + options_.delta);
    max_down_ = std::max(max_down_, sum_down_);
  }
  const double statistic = Statistic();
  if (n_ >= options_.min_samples && statistic > options_.threshold) {
    Restart();
    return {DriftState::kDrift, statistic, samples_seen_};
  }
  return {DriftState::kNone, statistic, samples_seen_};
}

// Registration (client/drift/detector_registry.h): options from [drift.detector.page_hinkley].
namespace {

std::optional<DetectorSpec> ReadPageHinkley(ConfigSection table) {
  PageHinkleyOptions o;
  ReadDetectorOption(table, "delta", &o.delta);
  ReadDetectorOption(table, "threshold", &o.threshold);
  ReadDetectorOption(table, "alpha", &o.alpha);
  ReadDetectorOption(table, "min_samples", &o.min_samples);
  table.Read("two_sided", &o.two_sided);
  return MakeDetectorSpec<PageHinkley>(table, o,
                                       {{"delta", o.delta},
                                        {"threshold", o.threshold},
                                        {"alpha", o.alpha},
                                        {"min_samples", static_cast<double>(o.min_samples)},
                                        {"two_sided", o.two_sided ? 1.0 : 0.0}});
}

const bool kRegistered = RegisterDetector({.name = std::string(PageHinkley::kName), .read = &ReadPageHinkley});

}  // namespace

}  // namespace fedge
