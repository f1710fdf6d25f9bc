#include "client/drift/ddm.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "client/drift/detector_registry.h"
#include "core/status.h"

namespace fedge {

absl::Status ValidateDdmOptions(const DdmOptions& options) {
  if (options.min_samples < 1) {
    return absl::InvalidArgumentError(absl::StrCat("ddm: min_samples must be >= 1, got ", options.min_samples));
  }
  if (!std::isfinite(options.warning_level) || options.warning_level <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ddm: warning_level must be a finite value > 0, got ", options.warning_level));
  }
  if (!std::isfinite(options.drift_level) || options.drift_level <= options.warning_level) {
    return absl::InvalidArgumentError(absl::StrCat("ddm: drift_level must be finite and greater than warning_level (",
                                                   options.warning_level, "), got ", options.drift_level));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Ddm>> Ddm::Create(const DdmOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateDdmOptions(options));
  return std::unique_ptr<Ddm>(new Ddm(options));
}

void Ddm::Reset() {
  samples_seen_ = 0;
  Restart();
}

void Ddm::Restart() {
  n_ = 0;
  p_ = 0;
  s_ = 0;
  p_min_ = s_min_ = std::numeric_limits<double>::infinity();
}

DriftSignal Ddm::Update(double value) {
  if (!std::isfinite(value)) return {DriftState::kNone, p_ + s_, samples_seen_};
  const double error = std::clamp(value, 0.0, 1.0);
  ++samples_seen_;
  ++n_;
  const double n = static_cast<double>(n_);
  p_ += (error - p_) / n;
  s_ = std::sqrt(p_ * (1 - p_) / n);
  const double level = p_ + s_;
  if (n_ < options_.min_samples) return {DriftState::kNone, level, samples_seen_};
  if (level < p_min_ + s_min_) {
    p_min_ = p_;
    s_min_ = s_;
    return {DriftState::kNone, level, samples_seen_};
  }
  // Equality with the minimum is no evidence of change; without this guard a
  // stream of all-correct predictions (p = s = 0) would alarm forever.
  if (level > p_min_ + s_min_ && level >= p_min_ + options_.drift_level * s_min_) {
    Restart();
    return {DriftState::kDrift, level, samples_seen_};
  }
  if (level > p_min_ + s_min_ && level >= p_min_ + options_.warning_level * s_min_) {
    return {DriftState::kWarning, level, samples_seen_};
  }
  return {DriftState::kNone, level, samples_seen_};
}

// Registration (client/drift/detector_registry.h): options from [drift.detector.ddm].
namespace {

std::optional<DetectorSpec> ReadDdm(ConfigSection table) {
  DdmOptions o;
  ReadDetectorOption(table, "min_samples", &o.min_samples);
  ReadDetectorOption(table, "warning_level", &o.warning_level);
  ReadDetectorOption(table, "drift_level", &o.drift_level);
  return MakeDetectorSpec<Ddm>(table, o,
                               {{"min_samples", static_cast<double>(o.min_samples)},
                                {"warning_level", o.warning_level},
                                {"drift_level", o.drift_level}});
}

const bool kRegistered = RegisterDetector({.name = std::string(Ddm::kName), .read = &ReadDdm});

}  // namespace

}  // namespace fedge
