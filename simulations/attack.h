// File: simulations/attack.h
//
// Byzantine devices for robustness experiments: the scenario's `[attack]`
// table, which devices are malicious, and what they do.
//
//   [attack]
//   fraction = 0.2        # of the population that is malicious, [0, 1]; 0 = no attack
//   kind = "sign_flip"    # sign_flip | scale | noise | label_flip
//   scale = 10            # sign_flip and scale: the factor s, > 0
//   noise_std = 0         # noise: per-coordinate std; 0 = match the honest delta's norm
//
// With honest delta Δ = local − global, a malicious device sends
//   sign_flip:  −s·Δ
//   scale:      +s·Δ
//   noise:      z with z_j ~ N(0, σ²), σ = noise_std, or ‖Δ‖/√d when noise_std = 0
//               (so E‖z‖² = ‖Δ‖²)
//   label_flip: the honest delta of training on its shard with every label
//               y replaced by 9 − y (the data is poisoned, not the update).
// The first three are update attacks, applied by `AttackingTrainer`
// (simulations/attacking_trainer.h) around the device's real trainer; the
// device agent, codec and coordinator run unchanged. Example counts stay
// honest.
//
// Exactly round(fraction × num_devices) devices are malicious, drawn by a
// seeded shuffle, so the set depends only on (seed, num_devices, fraction)
// and is fixed for the whole run.
//
// LibTorch-free. Stateless functions; thread-safe.
#ifndef FEDGE_SIMULATIONS_ATTACK_H_
#define FEDGE_SIMULATIONS_ATTACK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/config.h"
#include "core/idx.h"
#include "nlohmann/json.hpp"

namespace fedge {

struct AttackOptions {
  // Fraction of the population that is malicious; 0 disables the attack.
  double fraction = 0;
  // "sign_flip", "scale", "noise" or "label_flip".
  std::string kind = "sign_flip";
  // Factor s of sign_flip (−s·Δ) and scale (+s·Δ).
  double scale = 10;
  // Per-coordinate standard deviation of the noise attack; 0 matches the
  // norm of the honest delta.
  double noise_std = 0;
};

// The accepted values of AttackOptions::kind.
const std::vector<std::string>& AttackKinds();

// True for the kinds that rewrite the update (not label_flip).
bool IsUpdateAttack(const AttackOptions& attack);

// Reads the keys present in `section` into `*attack` (absent keys keep
// their value, so the same call applies an override) and range-checks them.
// Problems are recorded on `section`.
void ReadAttackTable(ConfigSection section, AttackOptions* attack);

// The options as a JSON object keyed like the TOML table.
nlohmann::json AttackToJson(const AttackOptions& attack);

// malicious[i] says whether device i (population index) is malicious:
// exactly round(fraction × num_devices) of them, chosen by a shuffle seeded
// with `seed`. REQUIRES: num_devices >= 0, 0 <= fraction <= 1.
std::vector<bool> SelectMaliciousDevices(int64_t num_devices, double fraction, uint64_t seed);

// Rewrites the locally trained parameters in place so that
// local' = global + f(local − global), f as in the file comment; `seed`
// drives the noise attack. kInvalidArgument when the sizes differ or the
// kind is not an update attack.
absl::Status AttackUpdate(const AttackOptions& attack, absl::Span<const float> global, absl::Span<float> local,
                          uint64_t seed);

// The examples of `data` at `indices`, in that order, with every label y
// replaced by 9 − y: a label-flipping device's local dataset.
// REQUIRES: every index in [0, data.num_examples).
ImageDataset FlippedLabelShard(const ImageDataset& data, absl::Span<const int64_t> indices);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_ATTACK_H_
