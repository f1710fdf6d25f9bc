#include "core/fault_injection.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/strings.h"

namespace fedge {

absl::StatusOr<FaultPoint> FaultInjectionFromEnv() {
  const char* spec = std::getenv("FEDGE_FAULT_INJECTION");
  if (spec == nullptr || *spec == '\0') return FaultPoint();
  const std::string_view text = spec;
  const size_t colon = text.rfind(':');
  int64_t n = 0;
  if (colon == std::string_view::npos || !absl::SimpleAtoi(AsAbsl(text.substr(colon + 1)), &n) || n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("FEDGE_FAULT_INJECTION=\"", spec, "\" must be EVENT:N, e.g. upload-partial:1"));
  }
  FEDGE_LOG(WARNING) << "fault injection: SIGKILL at " << spec;
  auto remaining = std::make_shared<std::atomic<int64_t>>(n);
  return FaultPoint([event = std::string(text.substr(0, colon)), remaining](std::string_view e) {
    if (e == event && --*remaining == 0) {
      FEDGE_LOG(WARNING) << "fault injection: killing the process at " << event;
      std::raise(SIGKILL);
    }
  });
}

}  // namespace fedge
