// File: coordinator/fleet_view.h
//
// The rules of the fleet registry's view that do not need the Federation:
// a device's effective status (offline is derived from its silence, never
// stored), the health of the deployed model it serves, status names, and
// the page tokens and sizes of Admin.ListDevices. The Federation applies
// them when it answers GetStatus, ListDevices and GetDevice
// (federation_fleet.cc).
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_COORDINATOR_FLEET_VIEW_H_
#define FEDGE_COORDINATOR_FLEET_VIEW_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/fedge.pb.h"

namespace fedge {

// A device serving the deployed model is "failing" when its last report
// counts inference errors for more than this fraction of its requests.
inline constexpr double kFailingInferenceErrorRate = 0.01;

// ListDevices page sizes: 0 asks for the default; larger ones are capped.
inline constexpr uint32_t kDefaultDevicePageSize = 100;
inline constexpr uint32_t kMaxDevicePageSize = 1000;
// A page also ends once its devices take this many bytes (a summary is
// bounded by the report and registration checks, ~a few KiB at most), so an
// answer stays far below gRPC's 4 MiB default message limit.
inline constexpr size_t kMaxDevicePageBytes = 1 << 20;

// The status an operator sees: the stored one (pending, active, revoked),
// except that an active device silent for longer than `offline_after`
// (now - last_seen) is OFFLINE.
proto::DeviceStatus EffectiveStatus(proto::DeviceStatus stored, int64_t last_seen_unix_micros,
                                    int64_t now_unix_micros, absl::Duration offline_after);

// "none", "ok", "outdated" or "failing" (proto DeviceSummary.inference_health)
// for a device serving deployed version `serving` (0: none) while
// `deployed` is the newest, given its last reported metrics
// (inference_requests, inference_errors).
std::string InferenceHealth(uint64_t serving, uint64_t deployed, const std::map<std::string, double>& metrics);

// "pending", "active", "offline", "revoked" ("unspecified" for 0).
std::string_view DeviceStatusName(proto::DeviceStatus status);
// The inverse of DeviceStatusName; nullopt for an unknown name.
std::optional<proto::DeviceStatus> ParseDeviceStatus(std::string_view name);

// Page tokens are opaque to clients: the last device id of a page, encoded.
std::string EncodePageToken(std::string_view last_device_id);
// kInvalidArgument for a token no ListDevices answer produced.
absl::StatusOr<std::string> DecodePageToken(std::string_view token);

// `requested` with 0 replaced by kDefaultDevicePageSize and capped at
// kMaxDevicePageSize.
uint32_t DevicePageSize(uint32_t requested);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_FLEET_VIEW_H_
