// File: client/drift_response.h
//
// `DriftResponder`: what a device does when its drift monitor fires. It owns
// the device's `DriftMonitor` (client/drift/drift_monitor.h), is fed the
// per-example losses (or confidences) of the deployed model on new data, and
// on every alarm:
//   1. prioritises recent data: training sets drawn after the alarm come
//      from the recent window only (the `prioritise_recent` hook, normally
//      `DeviceDataStream::NotifyDrift()`, client/data/device_data_stream.h);
//   2. requests participation and reports the alarm: the alarms, with their
//      detector and statistic, go to the coordinator in a `DeviceReport`
//      (the `report` hook, normally `Device::ReportDrift`). The coordinator
//      marks the device as drifting; with `FederationOptions::favour_drifting`
//      it is sampled before the others until one of its updates is accepted.
// Alarms whose report failed are kept (bounded) and sent with the next
// report, so a flaky link delays the request but does not lose it.
//
// The component is LibTorch-free: it sees floats and calls hooks, so it runs
// beside the int8 inference runtime as well as in the simulator.
//
// Usage:
//   DriftResponseOptions options;                 // Page-Hinkley, respond and report
//   DriftResponseHooks hooks{
//       .prioritise_recent = [&] { stream->NotifyDrift(); },
//       .report = [&](absl::Span<const proto::DriftAlarm> a) { return device->ReportDrift(a); }};
//   FEDGE_ASSIGN_OR_RETURN(auto responder, DriftResponder::Create(options, std::move(hooks), clock));
//   DriftResponseOutcome outcome = responder->ObserveLosses(batch_losses);
#ifndef FEDGE_CLIENT_DRIFT_RESPONSE_H_
#define FEDGE_CLIENT_DRIFT_RESPONSE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/drift/drift_monitor.h"
#include "core/env.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct DriftResponseOptions {
  // The monitor the responder owns (detector, warm-up, cool-down).
  DriftMonitorOptions monitor;
  // On an alarm, call the prioritise_recent hook (training on recent data).
  bool prioritise_recent = true;
  // On an alarm, report it to the coordinator (requests participation).
  bool report = true;
  // Unreported alarms kept while reports fail; the oldest are dropped
  // beyond this. >= 1.
  int max_pending_alarms = 16;
};

// kInvalidArgument naming the bad field (monitor options included).
absl::Status ValidateDriftResponseOptions(const DriftResponseOptions& options);

// What the device does. Either hook may be empty when its action is off.
struct DriftResponseHooks {
  // Switches training to recent data (e.g. DeviceDataStream::NotifyDrift).
  std::function<void()> prioritise_recent;
  // Sends the alarms to the coordinator; OK when delivered.
  std::function<absl::Status(absl::Span<const proto::DriftAlarm>)> report;
};

// What one Observe*/Respond call did.
struct DriftResponseOutcome {
  int new_alarms = 0;        // alarms the monitor raised in this call
  bool prioritised = false;  // the prioritise_recent hook was called
  int reported = 0;          // alarms delivered by this call (earlier pending ones included)
  absl::Status report_status;  // the report hook's status when it was called, else OK
};

// Ownership: owns its monitor; the hooks' targets are the caller's and must
// outlive the responder. Thread-safety: thread-compatible (the device's
// serving loop owns it).
class DriftResponder {
 public:
  // `clock` is borrowed (nullptr = Clock::Real()). kInvalidArgument for bad
  // options, or when an enabled action has no hook.
  static absl::StatusOr<std::unique_ptr<DriftResponder>> Create(const DriftResponseOptions& options,
                                                                DriftResponseHooks hooks, Clock* clock = nullptr);

  // Feeds per-example losses of the deployed model to the monitor, then
  // responds to any alarm (and retries pending reports).
  DriftResponseOutcome ObserveLosses(absl::Span<const float> losses);
  // Same with top-class confidences of unlabelled examples.
  DriftResponseOutcome ObserveConfidences(absl::Span<const float> confidences);
  // Responds to alarms already in the monitor (e.g. fed directly) and
  // retries pending reports.
  DriftResponseOutcome Respond();

  // Restarts the monitor, e.g. when a new model is deployed. Pending reports stay.
  void ResetMonitor() { monitor_->Reset(); }

  const DriftMonitor& monitor() const { return *monitor_; }
  // Alarms raised so far, and those not yet delivered.
  uint64_t total_alarms() const { return total_alarms_; }
  int pending_reports() const { return static_cast<int>(pending_.size()); }
  // Pending alarms dropped because the queue was full.
  uint64_t dropped_reports() const { return dropped_reports_; }

 private:
  DriftResponder(const DriftResponseOptions& options, DriftResponseHooks hooks, std::unique_ptr<DriftMonitor> monitor)
      : options_(options), hooks_(std::move(hooks)), monitor_(std::move(monitor)) {}

  DriftResponseOptions options_;
  DriftResponseHooks hooks_;
  std::unique_ptr<DriftMonitor> monitor_;
  std::vector<proto::DriftAlarm> pending_;
  uint64_t total_alarms_ = 0;
  uint64_t dropped_reports_ = 0;
};

// The report a device sends for `alarms` (plus `metrics`, which the
// coordinator keeps as the device's latest): proto::DeviceReport with
// device_id, metrics and alarms.
proto::DeviceReport MakeDriftReport(std::string_view device_id, absl::Span<const proto::DriftAlarm> alarms,
                                    const std::map<std::string, double>& metrics = {});

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_RESPONSE_H_
