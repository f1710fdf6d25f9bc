// File: ctl/enrol_commands.h
//
// fedgectl's enrolment subcommands (coordinator/README.md, "Enrolment"):
// `token create`, `device approve ID` and `device revoke ID`, each one
// Admin call, printed like the other commands (commands.h): text by
// default, one JSON document with `json`.
//
// Thread-safety: the functions keep no state; `api` must be usable from
// the calling thread.
#ifndef FEDGE_CTL_ENROL_COMMANDS_H_
#define FEDGE_CTL_ENROL_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ctl/admin_api.h"
#include "ctl/commands.h"

namespace fedge::ctl {

// "24h", "30m", "90s", "1h30m" (absl::ParseDuration) as whole seconds.
// kInvalidArgument for anything else, for fractions and for <= 0.
absl::StatusOr<int64_t> ParseExpiry(const std::string& text);

// `token create --count N --expires D`: N one-time enrolment tokens, each
// shown only now. Text: the expiry, then one token per line. JSON:
// {"tokens": [...], "expires_unix_micros": T}.
absl::Status CreateTokens(AdminApi& api, uint32_t count, int64_t ttl_seconds, const OutputOptions& output,
                          std::ostream& out);

// `device approve ID`: a pending device gets its certificate. JSON: its
// DeviceSummary. kNotFound when it has not enrolled.
absl::Status ApproveDevice(AdminApi& api, const std::string& device_id, const OutputOptions& output,
                           std::ostream& out);

// `device revoke ID`: the device is refused from its next RPC and its
// certificate is listed in the coordinator's CRL. JSON: its DeviceSummary.
// kNotFound for an unknown device.
absl::Status RevokeDevice(AdminApi& api, const std::string& device_id, const OutputOptions& output,
                          std::ostream& out);

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_ENROL_COMMANDS_H_
