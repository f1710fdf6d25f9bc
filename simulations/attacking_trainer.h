// File: simulations/attacking_trainer.h
//
// `AttackingTrainer` turns an honest device into a Byzantine one without
// touching the device agent: it decorates the device's `Trainer`, lets it
// train honestly, and rewrites the result to
//   local' = global + f(local − global)
// with f the update attack of simulations/attack.h (sign_flip, scale,
// noise). The device then computes, encodes and uploads the delta f(Δ)
// through its normal code path; its example count is left honest.
//
// Thread-safety: like the decorated trainer, one Train at a time.
#ifndef FEDGE_SIMULATIONS_ATTACKING_TRAINER_H_
#define FEDGE_SIMULATIONS_ATTACKING_TRAINER_H_

#include <optional>
#include <string>

#include "client/trainer.h"
#include "simulations/attack.h"

namespace fedge {

class AttackingTrainer final : public TrainerDecorator {
 public:
  // `inner` is borrowed and must outlive this trainer.
  // REQUIRES: IsUpdateAttack(attack).
  AttackingTrainer(Trainer* inner, AttackOptions attack) : TrainerDecorator(inner), attack_(std::move(attack)) {}

  // The inner trainer's result with `local` attacked; the inner trainer's
  // errors unchanged; kInvalidArgument when its model does not match
  // `global` in size.
  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                    uint64_t seed) override;

 private:
  const AttackOptions attack_;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_ATTACKING_TRAINER_H_
