// File: coordinator/report_checks.h
//
// The trust boundary for `DeviceReport`s and the `DeviceInfo` a device
// registers with: its metrics, drift alarms, privacy spend and attributes
// end up in the fleet registry (GetStatus, ListDevices) and in round
// records, so they are checked once, here, before the Federation keeps
// anything of them. Updates are checked by aggregation/update_checks.h.
//
// Thread-safety: a free function without shared state.
#ifndef FEDGE_COORDINATOR_REPORT_CHECKS_H_
#define FEDGE_COORDINATOR_REPORT_CHECKS_H_

#include "absl/status/status.h"
#include "proto/fedge.pb.h"

namespace fedge {

inline constexpr int kMaxReportMetrics = 32;
inline constexpr int kMaxReportAlarms = 64;
inline constexpr size_t kMaxReportNameBytes = 64;
// Every reported metric's magnitude is at most this (counts, seconds,
// losses and latencies are far below it; sums of them stay finite).
inline constexpr double kMaxReportMetricMagnitude = 1e12;
inline constexpr size_t kMaxModelHealthDetailBytes = 200;

// kInvalidArgument naming the field when the report has more than
// kMaxReportMetrics metrics or kMaxReportAlarms alarms, a metric or detector
// name that is empty, longer than kMaxReportNameBytes or not printable ASCII,
// a non-finite metric value or alarm statistic, a metric whose magnitude
// exceeds kMaxReportMetricMagnitude, a negative count or latency
// (inference_requests, inference_errors, inference_latency_ms), inference
// errors above the requests, an accuracy (local_accuracy, train_accuracy)
// outside [0, 1], an epsilon_spent that is negative or not finite, or a
// model_health with an unknown outcome, a detail longer than
// kMaxModelHealthDetailBytes or an accuracy outside [0, 1]. The
// fleet registry (DeviceSummary.metrics) keeps only checked reports.
absl::Status CheckDeviceReport(const proto::DeviceReport& report);

inline constexpr int kMaxDeviceAttributes = 32;
inline constexpr size_t kMaxAttributeValueBytes = 256;

// kInvalidArgument naming the field when a registration's DeviceInfo has
// more than kMaxDeviceAttributes attributes, an attribute name that is
// empty, longer than kMaxReportNameBytes or not printable ASCII, or a value
// longer than kMaxAttributeValueBytes. Keeps every registry entry small, so
// a page of ListDevices stays far below gRPC's message limit.
absl::Status CheckDeviceInfo(const proto::DeviceInfo& info);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_REPORT_CHECKS_H_
