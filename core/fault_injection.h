// File: core/fault_injection.h
//
// Crash tests only. `FaultInjectionFromEnv` reads FEDGE_FAULT_INJECTION =
// "EVENT:N" and returns a fault point that SIGKILLs the process the N-th
// time it is called with EVENT: pass it where a component offers a
// `fault_point` seam (FederationOptions::fault_point in fedge-coordinator,
// simulations/simulator.h's DurableOptions::fault_point in fedge-sim), so a
// test can kill the process at an exact point of a run.
//
// Thread-safety: the returned function may be called from any thread.
#ifndef FEDGE_CORE_FAULT_INJECTION_H_
#define FEDGE_CORE_FAULT_INJECTION_H_

#include <functional>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedge {

using FaultPoint = std::function<void(std::string_view event)>;

// Null when the variable is unset or empty; kInvalidArgument (naming the
// expected form) when it is not EVENT:N with N >= 1.
absl::StatusOr<FaultPoint> FaultInjectionFromEnv();

}  // namespace fedge

#endif  // FEDGE_CORE_FAULT_INJECTION_H_
