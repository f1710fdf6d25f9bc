// File: client/drift/drift_monitor.h
//
// `DriftMonitor` watches the model a device has deployed for concept drift.
// The device feeds it one value per example it serves:
//   * `ObserveLoss(loss)` when the label is known (e.g. cross-entropy), or
//   * `ObserveConfidence(p_max)` when it is not; the detector sees
//     1 − p_max, which rises as the model becomes unsure;
// and reports the recorded alarms to the coordinator with its DeviceReport
// (`TakeAlarms()` + `DriftAlarmToProto`). A drift alarm is a reason to
// volunteer for training on recent data.
//
// The monitor wraps one detector built from a `DetectorSpec`, stamps alarms
// with the injected clock, keeps at most `max_alarms` of them (dropping the
// oldest), and suppresses drift signals during an optional warm-up after
// (re)start and for a cool-down after each alarm, since the detector re-arms
// on the new regime and one change can otherwise produce a burst of alarms.
//
// Usage:
//   DriftMonitorOptions options;
//   options.detector = *ParseDetectorSpec("name = \"adwin\"");
//   FEDGE_ASSIGN_OR_RETURN(auto monitor, DriftMonitor::Create(options, clock));
//   for (float loss : batch_losses) monitor->ObserveLoss(loss);
//   for (const DriftAlarm& alarm : monitor->TakeAlarms())
//     *report.add_alarms() = DriftAlarmToProto(alarm);
#ifndef FEDGE_CLIENT_DRIFT_DRIFT_MONITOR_H_
#define FEDGE_CLIENT_DRIFT_DRIFT_MONITOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/drift/detector.h"
#include "client/drift/detector_registry.h"
#include "core/env.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct DriftMonitorOptions {
  // The detector to run and its settings (client/drift/detector_registry.h).
  DetectorSpec detector = DefaultDetectorSpec();
  // Alarms kept until taken; when full, the oldest is dropped. >= 1.
  int max_alarms = 64;
  // Drift signals are suppressed for the first this-many values after
  // creation or Reset(), while the detector's reference statistics rest on
  // few values (DDM is prone to false alarms then). >= 0; 0 = paper
  // behaviour.
  int64_t warmup_samples = 0;
  // After an alarm, drift signals are suppressed for this many values... >= 0.
  int64_t cooldown_samples = 1000;
  // ...and for this long on the injected clock. >= 0.
  absl::Duration cooldown_time = absl::ZeroDuration();
};

// One detected change, as reported to the coordinator.
struct DriftAlarm {
  std::string detector;       // DriftDetector::name()
  double statistic = 0;       // the detector's statistic when it fired
  absl::Time time;            // from the monitor's clock
  uint64_t samples_seen = 0;  // values seen since the monitor was (re)started
};

// Thread-safety: thread-compatible; the device's serving loop owns it. A
// span from alarms() is invalidated by the next Observe*/TakeAlarms call.
class DriftMonitor {
 public:
  // `clock` is borrowed and must outlive the monitor; nullptr means
  // Clock::Real(). kInvalidArgument when the monitor or detector options are
  // invalid (the message names the field).
  static absl::StatusOr<std::unique_ptr<DriftMonitor>> Create(const DriftMonitorOptions& options,
                                                              Clock* clock = nullptr);

  DriftMonitor(const DriftMonitor&) = delete;
  DriftMonitor& operator=(const DriftMonitor&) = delete;

  // Feeds one per-example loss. Returns the detector's signal, except that a
  // drift suppressed by the warm-up or cool-down is returned as kNone; kDrift therefore
  // means an alarm was recorded. Non-finite values are ignored.
  DriftSignal ObserveLoss(double loss);
  // Feeds 1 − confidence for one unlabelled example (confidence in [0, 1],
  // e.g. the top softmax probability). Same return value as ObserveLoss.
  DriftSignal ObserveConfidence(double confidence);

  // Restarts the detector and the cool-down, e.g. after a new model has been
  // deployed. Alarms not yet taken are kept.
  void Reset();

  // Alarms recorded and not yet taken, oldest first.
  absl::Span<const DriftAlarm> alarms() const { return alarms_; }
  // Returns the recorded alarms and clears the list.
  std::vector<DriftAlarm> TakeAlarms();

  // Alarms discarded because the list was full.
  uint64_t dropped_alarms() const { return dropped_alarms_; }
  // Drift signals not recorded because of the warm-up or the cool-down.
  uint64_t suppressed_alarms() const { return suppressed_alarms_; }
  const DriftDetector& detector() const { return *detector_; }

 private:
  DriftMonitor(const DriftMonitorOptions& options, std::unique_ptr<DriftDetector> detector, Clock* clock);
  bool Suppressed(absl::Time now) const;
  void Record(const DriftSignal& signal, absl::Time now);

  DriftMonitorOptions options_;
  std::unique_ptr<DriftDetector> detector_;
  Clock* clock_;
  std::vector<DriftAlarm> alarms_;
  bool has_last_alarm_ = false;
  uint64_t last_alarm_sample_ = 0;
  absl::Time last_alarm_time_;
  uint64_t dropped_alarms_ = 0;
  uint64_t suppressed_alarms_ = 0;
};

// The wire form of an alarm (proto/fedge.proto: DriftAlarm), for
// DeviceReport.alarms. Times before the Unix epoch map to negative micros.
proto::DriftAlarm DriftAlarmToProto(const DriftAlarm& alarm);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_DRIFT_MONITOR_H_
