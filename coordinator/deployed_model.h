// File: coordinator/deployed_model.h
//
// `DeployedModel` is the INT8 model a coordinator serves for on-device
// inference (coordinator/federation.h). It accepts a candidate only when a
// device would: the artifact verifies against the coordinator's own key, is
// of dtype INT8 with an int8 graph, names the federation's model_id, is
// newer than the model served, and loads in the devices' own runtime
// (`InferenceEngine::Load`, inference/engine.h) under the devices' load
// limits: the same graph validation, quantisation checks and memory/compute
// bounds. Devices still run that check themselves; doing it here keeps a
// misconfigured or hostile deployer from publishing what every device would
// refuse.
//
// Thread-safety: none; the Federation guards it with its mutex.
#ifndef FEDGE_COORDINATOR_DEPLOYED_MODEL_H_
#define FEDGE_COORDINATOR_DEPLOYED_MODEL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "core/signing.h"
#include "inference/load_limits.h"

namespace fedge {

class DeployedModel {
 public:
  // `device_limits` are the LoadLimits the devices load with (their
  // defaults unless the fleet is configured otherwise).
  DeployedModel(VerifyKey coordinator_key, std::string model_id, LoadLimits device_limits = {});

  // Serves `artifact` from now on. kPermissionDenied (signature),
  // kInvalidArgument (not INT8, other model_id, malformed or invalid graph),
  // kResourceExhausted (over the device limits) or kFailedPrecondition (not
  // newer) naming the check; unchanged on error.
  absl::Status Publish(std::string artifact);

  // 0 and empty before the first Publish.
  uint64_t version() const { return version_; }
  const std::string& artifact() const { return artifact_; }

 private:
  const VerifyKey coordinator_key_;
  const std::string model_id_;
  const LoadLimits device_limits_;
  std::string artifact_;
  uint64_t version_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_DEPLOYED_MODEL_H_
