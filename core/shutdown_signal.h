// File: core/shutdown_signal.h
//
// SIGINT/SIGTERM for the service binaries (fedge-coordinator,
// fedge-gateway): the signals travel through a self-pipe. The handler only
// write()s (async-signal-safe), whichever thread the kernel picks to run
// it, and a normal thread waiting in WaitForShutdownSignal() turns the byte
// into a clean stop. Threads started before main() (by gRPC or LibTorch
// static initialisers) make a blocked-signal + sigwait() scheme unreliable,
// hence a handler.
//
// Usage:
//   FEDGE_RETURN_IF_ERROR(InstallShutdownSignals());
//   std::thread waiter([&] { if (WaitForShutdownSignal() != 0) ...; server->RequestStop(); });
//   server->Wait();
//   WakeShutdownWaiter();  // the server stopped by itself
//   waiter.join();
//
// Thread-safety: install once; one waiting thread.
#ifndef FEDGE_CORE_SHUTDOWN_SIGNAL_H_
#define FEDGE_CORE_SHUTDOWN_SIGNAL_H_

#include "absl/status/status.h"

namespace fedge {

// Installs the handlers of SIGINT and SIGTERM (also when the shell started
// the process in the background with SIGINT ignored).
absl::Status InstallShutdownSignals();
// Blocks until a signal arrives (returns its number) or WakeShutdownWaiter()
// is called (returns 0).
int WaitForShutdownSignal();
void WakeShutdownWaiter();

}  // namespace fedge

#endif  // FEDGE_CORE_SHUTDOWN_SIGNAL_H_
