#include "ctl/exit_codes.h"

namespace fedge::ctl {

ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kExitUnreachable;
    case absl::StatusCode::kNotFound:
      return kExitNotFound;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitDenied;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return kExitRefused;
    default:
      return kExitError;
  }
}

const char* ExitCodesHelp() {
  return "Exit codes:\n"
         "  0  ok\n"
         "  1  other error (see the message)\n"
         "  2  usage: bad flags or arguments, unreadable TLS files, an invalid request\n"
         "  3  unreachable: coordinator down, wrong address, TLS refused, timeout\n"
         "  4  not found (e.g. an unknown device id)\n"
         "  5  denied: this certificate is not the coordinator's admin (--admin-cn)\n"
         "  6  refused by the coordinator's state (no --state to back up, backup path exists)\n";
}

}  // namespace fedge::ctl
