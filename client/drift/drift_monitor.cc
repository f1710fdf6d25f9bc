#include "client/drift/drift_monitor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {

absl::StatusOr<std::unique_ptr<DriftMonitor>> DriftMonitor::Create(const DriftMonitorOptions& options,
                                                                   Clock* clock) {
  if (options.max_alarms < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("drift monitor: max_alarms must be >= 1, got ", options.max_alarms));
  }
  if (options.cooldown_samples < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("drift monitor: cooldown_samples must be >= 0, got ", options.cooldown_samples));
  }
  if (options.warmup_samples < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("drift monitor: warmup_samples must be >= 0, got ", options.warmup_samples));
  }
  if (options.cooldown_time < absl::ZeroDuration() || options.cooldown_time == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("drift monitor: cooldown_time must be finite and >= 0, got ",
                                                   absl::FormatDuration(options.cooldown_time)));
  }
  if (!options.detector.create) {
    return absl::InvalidArgumentError("drift monitor: no detector; read one with ReadDetectorTable");
  }
  return std::unique_ptr<DriftMonitor>(
      new DriftMonitor(options, options.detector.create(), clock != nullptr ? clock : Clock::Real()));
}

DriftMonitor::DriftMonitor(const DriftMonitorOptions& options, std::unique_ptr<DriftDetector> detector,
                           Clock* clock)
    : options_(options), detector_(std::move(detector)), clock_(clock) {
  alarms_.reserve(static_cast<size_t>(options_.max_alarms));
}

DriftSignal DriftMonitor::ObserveConfidence(double confidence) { return ObserveLoss(1.0 - confidence); }

DriftSignal DriftMonitor::ObserveLoss(double loss) {
  DriftSignal signal = detector_->Update(loss);
  if (signal.state != DriftState::kDrift) return signal;
  const absl::Time now = clock_->Now();
  if (Suppressed(now)) {
    ++suppressed_alarms_;
    signal.state = DriftState::kNone;
    return signal;
  }
  Record(signal, now);
  return signal;
}

bool DriftMonitor::Suppressed(absl::Time now) const {
  if (detector_->samples_seen() <= static_cast<uint64_t>(options_.warmup_samples)) return true;
  if (!has_last_alarm_) return false;
  const uint64_t since = detector_->samples_seen() - last_alarm_sample_;
  return since < static_cast<uint64_t>(options_.cooldown_samples) || now - last_alarm_time_ < options_.cooldown_time;
}

void DriftMonitor::Record(const DriftSignal& signal, absl::Time now) {
  has_last_alarm_ = true;
  last_alarm_sample_ = signal.samples_seen;
  last_alarm_time_ = now;
  if (alarms_.size() == static_cast<size_t>(options_.max_alarms)) {
    // Drop the oldest: the newest alarms describe the current model state.
    alarms_.erase(alarms_.begin());
    ++dropped_alarms_;
  }
  alarms_.push_back(DriftAlarm{std::string(detector_->name()), signal.statistic, now, signal.samples_seen});
}

void DriftMonitor::Reset() {
  detector_->Reset();
  has_last_alarm_ = false;
}

std::vector<DriftAlarm> DriftMonitor::TakeAlarms() {
  std::vector<DriftAlarm> taken = std::move(alarms_);
  alarms_.clear();
  alarms_.reserve(static_cast<size_t>(options_.max_alarms));
  return taken;
}

proto::DriftAlarm DriftAlarmToProto(const DriftAlarm& alarm) {
  proto::DriftAlarm out;
  out.set_detector(alarm.detector);
  out.set_statistic(alarm.statistic);
  out.set_unix_micros(absl::ToUnixMicros(alarm.time));
  out.set_samples_seen(alarm.samples_seen);
  return out;
}

}  // namespace fedge
