#include "simulations/attacking_trainer.h"

#include "core/random.h"
#include "core/status.h"

namespace fedge {
namespace {

// Keeps the noise attack's draws apart from the training run seeded with
// the same per-round seed.
constexpr uint64_t kAttackNoiseStream = 0x6e6f697365ULL;

}  // namespace

absl::StatusOr<TrainResult> AttackingTrainer::Train(const ModelParams& global, const proto::TrainConfig& config,
                                                    uint64_t seed) {
  FEDGE_ASSIGN_OR_RETURN(TrainResult result, inner()->Train(global, config, seed));
  FEDGE_RETURN_IF_ERROR(
      AttackUpdate(attack_, global.values, absl::MakeSpan(result.local.values), DeriveSeed(seed, kAttackNoiseStream)));
  return result;
}

}  // namespace fedge
