// File: coordinator/federation_setup.h
//
// Turns the shared federation settings (settings/federation_settings.h) into
// the Federation's options, the one place where a key becomes behaviour, so
// fedge-coordinator and fedge-sim cannot drift apart. What is not a setting
// is left to the caller: the deployer, the evaluator, the client-DP noise
// source and the expected update size.
//
// LibTorch-free. Stateless; thread-safe.
#ifndef FEDGE_COORDINATOR_FEDERATION_SETUP_H_
#define FEDGE_COORDINATOR_FEDERATION_SETUP_H_

#include <cstdint>

#include "coordinator/federation.h"
#include "settings/federation_settings.h"

namespace fedge {

// `population` is the number of devices when known (the simulator), else 0;
// it sizes `fraction` targets and the client-DP sampling rate
// (DeviceSamplingRate). Selection is seeded with SeedFor(kSelection).
// The result is not validated: call ValidateFederationOptions.
FederationOptions MakeFederationOptions(const FederationSettings& settings, int64_t population);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_FEDERATION_SETUP_H_
