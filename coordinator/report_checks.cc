#include "coordinator/report_checks.h"

#include <cmath>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {
namespace {

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("device report: ", AsAbsl(what)));
}

bool IsPrintableName(std::string_view name) {
  if (name.empty() || name.size() > kMaxReportNameBytes) return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string Shown(std::string_view name) { return absl::CHexEscape(AsAbsl(name.substr(0, kMaxReportNameBytes))); }

// The metrics the fleet view interprets, with their ranges.
struct KnownMetric {
  std::string_view name;
  double min;
  double max;
};
constexpr KnownMetric kKnownMetrics[] = {
    {"inference_requests", 0, kMaxReportMetricMagnitude},
    {"inference_errors", 0, kMaxReportMetricMagnitude},
    {"inference_latency_ms", 0, kMaxReportMetricMagnitude},
    {"local_accuracy", 0, 1},
    {"train_accuracy", 0, 1},
};

absl::Status CheckMetricRange(const std::string& name, double value) {
  if (std::abs(value) > kMaxReportMetricMagnitude) {
    return Bad(absl::StrCat("metric '", name, "' is ", value, "; its magnitude must be at most ",
                            kMaxReportMetricMagnitude));
  }
  for (const KnownMetric& known : kKnownMetrics) {
    if (known.name == name && !(value >= known.min && value <= known.max)) {
      return Bad(absl::StrCat("metric '", name, "' is ", value, "; it must be in [", known.min, ", ", known.max, "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckDeviceReport(const proto::DeviceReport& report) {
  if (report.metrics_size() > kMaxReportMetrics) {
    return Bad(absl::StrCat(report.metrics_size(), " metrics; at most ", kMaxReportMetrics, " are accepted"));
  }
  for (const auto& [name, value] : report.metrics()) {
    if (!IsPrintableName(name)) {
      return Bad(absl::StrCat("metric name '", Shown(name), "' must be 1 to ", kMaxReportNameBytes,
                              " printable ASCII characters"));
    }
    if (!std::isfinite(value)) return Bad(absl::StrCat("metric '", name, "' is ", value, "; it must be finite"));
    if (absl::Status in_range = CheckMetricRange(name, value); !in_range.ok()) return in_range;
  }
  auto requests = report.metrics().find("inference_requests");
  auto errors = report.metrics().find("inference_errors");
  if (errors != report.metrics().end() && errors->second > 0 &&
      (requests == report.metrics().end() || errors->second > requests->second)) {
    return Bad(absl::StrCat("inference_errors (", errors->second, ") exceeds inference_requests (",
                            requests == report.metrics().end() ? 0.0 : requests->second, ")"));
  }
  if (report.alarms_size() > kMaxReportAlarms) {
    return Bad(absl::StrCat(report.alarms_size(), " drift alarms; at most ", kMaxReportAlarms,
                            " per report are accepted"));
  }
  for (const proto::DriftAlarm& alarm : report.alarms()) {
    if (!IsPrintableName(alarm.detector())) {
      return Bad(absl::StrCat("drift detector name '", Shown(alarm.detector()), "' must be 1 to ",
                              kMaxReportNameBytes, " printable ASCII characters"));
    }
    if (!std::isfinite(alarm.statistic())) return Bad("a drift alarm's statistic is not finite");
  }
  if (!(report.epsilon_spent() >= 0 && std::isfinite(report.epsilon_spent()))) {
    return Bad(absl::StrCat("epsilon_spent is ", report.epsilon_spent(), "; it must be finite and >= 0"));
  }
  if (report.has_model_health()) {
    const proto::ModelHealth& h = report.model_health();
    if (!proto::ModelHealthOutcome_IsValid(h.outcome())) return Bad("model_health.outcome is not a known outcome");
    if (h.detail().size() > kMaxModelHealthDetailBytes) {
      return Bad(absl::StrCat("model_health.detail is ", h.detail().size(), " bytes; at most ",
                              kMaxModelHealthDetailBytes));
    }
    if (h.has_accuracy() && !(h.accuracy() >= 0 && h.accuracy() <= 1)) {
      return Bad(absl::StrCat("model_health.accuracy is ", h.accuracy(), "; it must be in [0, 1]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckDeviceInfo(const proto::DeviceInfo& info) {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("device registration: ", AsAbsl(what)));
  };
  if (info.attributes_size() > kMaxDeviceAttributes) {
    return bad(absl::StrCat(info.attributes_size(), " attributes; at most ", kMaxDeviceAttributes, " are accepted"));
  }
  for (const auto& [name, value] : info.attributes()) {
    if (!IsPrintableName(name)) {
      return bad(absl::StrCat("attribute name '", Shown(name), "' must be 1 to ", kMaxReportNameBytes,
                              " printable ASCII characters"));
    }
    if (value.size() > kMaxAttributeValueBytes) {
      return bad(absl::StrCat("attribute '", name, "' has ", value.size(), " bytes; at most ",
                              kMaxAttributeValueBytes, " are accepted"));
    }
  }
  return absl::OkStatus();
}

}  // namespace fedge
