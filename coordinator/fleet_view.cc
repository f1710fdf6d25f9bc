#include "coordinator/fleet_view.h"

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge {
namespace {

constexpr std::array<std::pair<proto::DeviceStatus, std::string_view>, 5> kStatusNames = {{
    {proto::DEVICE_STATUS_UNSPECIFIED, "unspecified"},
    {proto::DEVICE_STATUS_PENDING, "pending"},
    {proto::DEVICE_STATUS_ACTIVE, "active"},
    {proto::DEVICE_STATUS_OFFLINE, "offline"},
    {proto::DEVICE_STATUS_REVOKED, "revoked"},
}};

constexpr std::string_view kTokenPrefix = "after:";

double MetricOr(const std::map<std::string, double>& metrics, const std::string& name, double fallback) {
  auto it = metrics.find(name);
  return it == metrics.end() ? fallback : it->second;
}

}  // namespace

proto::DeviceStatus EffectiveStatus(proto::DeviceStatus stored, int64_t last_seen_unix_micros,
                                    int64_t now_unix_micros, absl::Duration offline_after) {
  if (stored != proto::DEVICE_STATUS_ACTIVE) return stored;
  const int64_t silent = now_unix_micros - last_seen_unix_micros;
  return silent > absl::ToInt64Microseconds(offline_after) ? proto::DEVICE_STATUS_OFFLINE
                                                           : proto::DEVICE_STATUS_ACTIVE;
}

std::string InferenceHealth(uint64_t serving, uint64_t deployed, const std::map<std::string, double>& metrics) {
  if (serving == 0) return "none";
  const double requests = MetricOr(metrics, "inference_requests", 0);
  const double errors = MetricOr(metrics, "inference_errors", 0);
  if (errors > 0 && errors > kFailingInferenceErrorRate * requests) return "failing";
  if (serving < deployed) return "outdated";
  return "ok";
}

std::string_view DeviceStatusName(proto::DeviceStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "unspecified";
}

std::optional<proto::DeviceStatus> ParseDeviceStatus(std::string_view name) {
  for (const auto& [value, known] : kStatusNames) {
    if (known == name && value != proto::DEVICE_STATUS_UNSPECIFIED) return value;
  }
  return std::nullopt;
}

std::string EncodePageToken(std::string_view last_device_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(AsAbsl(kTokenPrefix), AsAbsl(last_device_id)));
}

absl::StatusOr<std::string> DecodePageToken(std::string_view token) {
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(AsAbsl(token), &decoded) || !absl::StartsWith(decoded, AsAbsl(kTokenPrefix))) {
    return absl::InvalidArgumentError(
        "page_token is not one a ListDevices answer gave; pass its next_page_token unchanged, or none for the "
        "first page");
  }
  return decoded.substr(kTokenPrefix.size());
}

uint32_t DevicePageSize(uint32_t requested) {
  if (requested == 0) return kDefaultDevicePageSize;
  return std::min(requested, kMaxDevicePageSize);
}

}  // namespace fedge
