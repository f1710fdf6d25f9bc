// File: ctl/commands.h
//
// fedgectl's subcommands, each one call (or a series of paged calls) of the
// Admin service rendered as a table or, with `json`, as one JSON document
// (json_view.h) on one line. They write only to `out`; errors come back as
// a status whose code fedgectl maps to its exit code (exit_codes.h).
//
// Thread-safety: the functions keep no state; `api` must be usable from
// the calling thread.
#ifndef FEDGE_CTL_COMMANDS_H_
#define FEDGE_CTL_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ctl/admin_api.h"

namespace fedge::ctl {

struct OutputOptions {
  bool json = false;
  // Ages in tables ("12s ago") are relative to this.
  absl::Time now = absl::UnixEpoch();
};

// The DeviceStatus named "pending", "active", "offline" or "revoked";
// kInvalidArgument listing them otherwise.
absl::StatusOr<proto::DeviceStatus> ParseStatusName(const std::string& name);

// `status`: the round, model versions, devices by status, the last round.
// JSON: the StatusResponse (without per-device maps).
absl::Status ShowStatus(AdminApi& api, const OutputOptions& output, std::ostream& out);

struct DevicesQuery {
  std::optional<proto::DeviceStatus> status;  // nullopt: every status
  uint32_t page_size = 0;                     // per ListDevices call; 0: the server's default
  int64_t limit = 0;                          // devices shown in all; 0: every one
};
// `devices`: the registry, fetched page by page. JSON: {"devices": [...],
// "count": N}.
absl::Status ShowDevices(AdminApi& api, const DevicesQuery& query, const OutputOptions& output, std::ostream& out);

// `device ID`: one device's registry entry. JSON: the DeviceSummary.
// kNotFound for an unknown id.
absl::Status ShowDevice(AdminApi& api, const std::string& device_id, const OutputOptions& output, std::ostream& out);

// `rounds`: the last `last` completed rounds (at most 1000), oldest first.
// JSON: {"rounds": [...]}.
absl::Status ShowRounds(AdminApi& api, uint32_t last, const OutputOptions& output, std::ostream& out);

// `models`: served and still-used model versions. JSON: {"models": [...]}.
absl::Status ShowModels(AdminApi& api, const OutputOptions& output, std::ostream& out);

// `backup PATH`: an online backup of the coordinator's state directory into
// PATH on the coordinator's host. JSON: the BackupResponse.
absl::Status RunBackup(AdminApi& api, const std::string& path, const OutputOptions& output, std::ostream& out);

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_COMMANDS_H_
