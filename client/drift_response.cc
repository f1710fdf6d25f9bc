#include "client/drift_response.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {

absl::Status ValidateDriftResponseOptions(const DriftResponseOptions& options) {
  if (options.max_pending_alarms < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("DriftResponseOptions.max_pending_alarms must be >= 1, got ", options.max_pending_alarms));
  }
  // The monitor validates its own options (and names the field) in Create.
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DriftResponder>> DriftResponder::Create(const DriftResponseOptions& options,
                                                                       DriftResponseHooks hooks, Clock* clock) {
  if (absl::Status valid = ValidateDriftResponseOptions(options); !valid.ok()) return valid;
  if (options.prioritise_recent && !hooks.prioritise_recent) {
    return absl::InvalidArgumentError(
        "DriftResponseOptions.prioritise_recent is set but DriftResponseHooks.prioritise_recent is empty");
  }
  if (options.report && !hooks.report) {
    return absl::InvalidArgumentError("DriftResponseOptions.report is set but DriftResponseHooks.report is empty");
  }
  absl::StatusOr<std::unique_ptr<DriftMonitor>> monitor = DriftMonitor::Create(options.monitor, clock);
  if (!monitor.ok()) return monitor.status();
  return std::unique_ptr<DriftResponder>(new DriftResponder(options, std::move(hooks), *std::move(monitor)));
}

DriftResponseOutcome DriftResponder::ObserveLosses(absl::Span<const float> losses) {
  for (float loss : losses) monitor_->ObserveLoss(loss);
  return Respond();
}

DriftResponseOutcome DriftResponder::ObserveConfidences(absl::Span<const float> confidences) {
  for (float p : confidences) monitor_->ObserveConfidence(p);
  return Respond();
}

DriftResponseOutcome DriftResponder::Respond() {
  DriftResponseOutcome outcome;
  std::vector<DriftAlarm> alarms = monitor_->TakeAlarms();
  outcome.new_alarms = static_cast<int>(alarms.size());
  total_alarms_ += alarms.size();
  if (!alarms.empty() && options_.prioritise_recent) {
    hooks_.prioritise_recent();
    outcome.prioritised = true;
  }
  if (!options_.report) return outcome;
  for (const DriftAlarm& alarm : alarms) pending_.push_back(DriftAlarmToProto(alarm));
  if (pending_.size() > static_cast<size_t>(options_.max_pending_alarms)) {
    // The newest alarms describe the current regime best; drop the oldest.
    const size_t excess = pending_.size() - static_cast<size_t>(options_.max_pending_alarms);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(excess));
    dropped_reports_ += excess;
  }
  if (pending_.empty()) return outcome;
  outcome.report_status = hooks_.report(pending_);
  if (outcome.report_status.ok()) {
    outcome.reported = static_cast<int>(pending_.size());
    pending_.clear();
  }
  return outcome;
}

proto::DeviceReport MakeDriftReport(std::string_view device_id, absl::Span<const proto::DriftAlarm> alarms,
                                    const std::map<std::string, double>& metrics) {
  proto::DeviceReport report;
  report.set_device_id(std::string(device_id));
  for (const auto& [name, value] : metrics) (*report.mutable_metrics())[name] = value;
  for (const proto::DriftAlarm& alarm : alarms) *report.add_alarms() = alarm;
  return report;
}

}  // namespace fedge
