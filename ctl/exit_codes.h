// File: ctl/exit_codes.h
//
// fedgectl's exit codes, the part of its interface scripts rely on
// (documented in ctl/README.md and printed by `fedgectl --help`).
//
// Thread-safety: pure functions.
#ifndef FEDGE_CTL_EXIT_CODES_H_
#define FEDGE_CTL_EXIT_CODES_H_

#include "absl/status/status.h"

namespace fedge::ctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,         // anything not below (a coordinator bug, an interrupted answer)
  kExitUsage = 2,         // bad flags or arguments, unreadable TLS files, an invalid request
  kExitUnreachable = 3,   // no answer: coordinator down, wrong address, TLS handshake refused, timeout
  kExitNotFound = 4,      // the device (or other named thing) does not exist
  kExitDenied = 5,        // the coordinator refused this certificate (not the admin CN, admin disabled)
  kExitRefused = 6,       // the request is valid but the coordinator's state refuses it (no --state, path exists)
};

// The exit code for a failed (or OK) call.
ExitCode ExitCodeFor(const absl::Status& status);

// One line per code, for --help.
const char* ExitCodesHelp();

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_EXIT_CODES_H_
