#include "core/shutdown_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace fedge {
namespace {

int g_signal_pipe[2] = {-1, -1};

extern "C" void OnShutdownSignal(int sig) {
  const char byte = static_cast<char>(sig);
  [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &byte, 1);
}

}  // namespace

absl::Status InstallShutdownSignals() {
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return absl::InternalError("cannot create the signal pipe");
  struct sigaction action = {};
  action.sa_handler = OnShutdownSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &action, nullptr) != 0 || sigaction(SIGTERM, &action, nullptr) != 0) {
    return absl::InternalError("cannot install the SIGINT/SIGTERM handlers");
  }
  return absl::OkStatus();
}

int WaitForShutdownSignal() {
  char byte = 0;
  while (read(g_signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  return byte;
}

void WakeShutdownWaiter() {
  const char wake = 0;
  [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &wake, 1);
}

}  // namespace fedge
