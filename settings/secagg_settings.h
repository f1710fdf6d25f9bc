// File: settings/secagg_settings.h
//
// [secagg]: secure aggregation of the synchronous round (secagg/README.md,
// coordinator/secagg_round.h), part of the one federation schema
// (settings/federation_settings.h): fedge-sim and fedge-coordinator read the
// same keys; devices take the round's parameters from their tasks.
//
//   [secagg]
//   enabled = true          # true when the table is present, unless it says otherwise
//   neighbours = 0          # k, even; 0: 2 * ceil(log2 cohort)
//   threshold = 0           # t, in (k/2, k]; 0: k_eff / 2 + 1
//   stage_timeout_s = 60    # each protocol stage waits this long for the devices still in it
//   coordinate_range = 4    # codes cover +-range * clip / sqrt(d) per coordinate
//
// LibTorch-free. Plain data; thread-compatible.
#ifndef FEDGE_SETTINGS_SECAGG_SETTINGS_H_
#define FEDGE_SETTINGS_SECAGG_SETTINGS_H_

#include <cstdint>

#include "core/config.h"

namespace fedge {

struct SecAggSettings {
  bool enabled = false;
  int64_t neighbours = 0;
  int64_t threshold = 0;
  double stage_timeout_s = 60;
  double coordinate_range = 4;
};

struct FederationSettings;

// Reads [secagg] of `root` (absent: secure aggregation stays off) and
// records problems on the section: k odd, t outside (k/2, k], a strategy
// that needs individual updates, no clip norm to derive the shared scale
// from, adaptive client-DP clipping, a codec other than fp32/int8.
void ReadSecAggTable(ConfigSection root, const FederationSettings& settings, SecAggSettings& secagg);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_SECAGG_SETTINGS_H_
