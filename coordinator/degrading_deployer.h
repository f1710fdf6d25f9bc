// File: coordinator/degrading_deployer.h
//
// TEST-ONLY. `DegradingDeployer` wraps the real deployer and, from a given
// deployed version on, zeroes every weight and bias of the INT8 model it
// built and signs it again with the coordinator's key: a validly signed
// model that loads everywhere but predicts one class for every input. It
// exists so that end-to-end tests can prove the staged rollout
// (coordinator/rollout.h) stops a broken deployment at its canary stage.
// Selected only by `[deploy] test_degrade_from_version` (never set it in
// production); the Federation wraps options.deployer with it, so fedge-sim
// and fedge-coordinator behave alike.
//
// Ownership: borrows `inner` and `key`, which must outlive it.
// Thread-safety: as the inner deployer (one thread at a time).
#ifndef FEDGE_COORDINATOR_DEGRADING_DEPLOYER_H_
#define FEDGE_COORDINATOR_DEGRADING_DEPLOYER_H_

#include <cstdint>

#include "core/deployer.h"
#include "core/signing.h"

namespace fedge {

class DegradingDeployer final : public ModelDeployer {
 public:
  // REQUIRES: from_version >= 1.
  DegradingDeployer(ModelDeployer* inner, const SigningKey* key, uint64_t from_version)
      : inner_(inner), key_(key), from_version_(from_version) {}

  // The inner deployment; from `from_version` on with its tensors zeroed,
  // re-signed, and metrics["test_degraded"] = 1. The inner deployer's errors,
  // or kInternal if its artifact does not open with the key.
  absl::StatusOr<Deployment> Deploy(const ModelParams& global, uint64_t parent_version, uint64_t version) override;

 private:
  ModelDeployer* const inner_;
  const SigningKey* const key_;
  const uint64_t from_version_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_DEGRADING_DEPLOYER_H_
