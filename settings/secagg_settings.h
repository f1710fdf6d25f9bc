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
// The width of the codes is not a [secagg] key: it follows training.codec
// (SecAggCodeBits), so one setting says how updates are quantized whether or
// not the round is secure.
//
// LibTorch-free. Plain data; thread-compatible.
#ifndef FEDGE_SETTINGS_SECAGG_SETTINGS_H_
#define FEDGE_SETTINGS_SECAGG_SETTINGS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
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

// The width of the integer codes a secure round sums, from the run's update
// codec pipeline (compression/codec_spec.h): "int4" or "int4:BLOCK" -> 4;
// "int8", "int8:BLOCK", "fp32" or "" (fp32) -> 8. The block size is ignored:
// a secure round quantizes on one per-round scale, not per block.
// kInvalidArgument, saying what to use instead, for any other pipeline
// (top-k, zstd, sign, fp16, registered stages): masked codes are dense and
// uniformly random, so sparsifying or compressing them gains nothing.
absl::StatusOr<int> SecAggCodeBits(std::string_view codec);

// Reads [secagg] of `root` (absent: secure aggregation stays off) and
// records problems on the section: k odd, t outside (k/2, k], a strategy
// that needs individual updates, no clip norm to derive the shared scale
// from, adaptive client-DP clipping, a codec SecAggCodeBits refuses.
void ReadSecAggTable(ConfigSection root, const FederationSettings& settings, SecAggSettings& secagg);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_SECAGG_SETTINGS_H_
