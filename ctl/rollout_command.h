// File: ctl/rollout_command.h
//
// `fedgectl rollout status|pause|resume|promote|rollback`: the staged
// rollout of the deployed model (coordinator/rollout.h) through the Admin
// service's GetRollout and ControlRollout. Like every subcommand it writes
// only to `out` (a table-like summary, or the RolloutStatus as one JSON
// document with `json`) and returns the status fedgectl maps to its exit
// code (exit_codes.h): a refused action (e.g. pause when nothing runs) is
// kFailedPrecondition.
//
// Thread-safety: no state; `api` must be usable from the calling thread.
#ifndef FEDGE_CTL_ROLLOUT_COMMAND_H_
#define FEDGE_CTL_ROLLOUT_COMMAND_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "ctl/admin_api.h"
#include "ctl/commands.h"

namespace fedge::ctl {

// `action` is "status", "pause", "resume", "promote" or "rollback";
// kInvalidArgument listing them otherwise.
absl::Status RunRollout(AdminApi& api, const std::string& action, const OutputOptions& output, std::ostream& out);

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_ROLLOUT_COMMAND_H_
