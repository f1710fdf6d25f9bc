#include "ctl/format.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fedge::ctl {

std::string FormatTime(int64_t unix_micros) {
  if (unix_micros == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixMicros(unix_micros), absl::UTCTimeZone());
}

std::string FormatAge(int64_t unix_micros, absl::Time now) {
  if (unix_micros == 0) return "-";
  const int64_t s = absl::ToInt64Seconds(now - absl::FromUnixMicros(unix_micros));
  if (s < 0) return "just now";
  if (s < 120) return absl::StrCat(s, "s ago");
  if (s < 2 * 3600) return absl::StrCat(s / 60, "m ago");
  if (s < 2 * 86400) return absl::StrCat(s / 3600, "h ago");
  return absl::StrCat(s / 86400, "d ago");
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  if (bytes < (1u << 20)) return absl::StrFormat("%.1f KiB", static_cast<double>(bytes) / 1024);
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
}

std::string FormatFixed(double value, int digits) { return absl::StrFormat("%.*f", digits, value); }

std::string FormatMetrics(const google::protobuf::Map<std::string, double>& metrics) {
  if (metrics.empty()) return "-";
  const std::map<std::string, double> sorted(metrics.begin(), metrics.end());
  std::string out;
  for (const auto& [k, v] : sorted) absl::StrAppend(&out, out.empty() ? "" : " ", k, "=", absl::StrFormat("%.4g", v));
  return out;
}

}  // namespace fedge::ctl
