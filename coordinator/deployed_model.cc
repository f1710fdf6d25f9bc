#include "coordinator/deployed_model.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/artifact.h"
#include "core/status.h"
#include "inference/engine.h"

namespace fedge {

DeployedModel::DeployedModel(VerifyKey coordinator_key, std::string model_id, LoadLimits device_limits)
    : coordinator_key_(std::move(coordinator_key)), model_id_(std::move(model_id)), device_limits_(device_limits) {}

absl::Status DeployedModel::Publish(std::string artifact) {
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, OpenArtifact(artifact, coordinator_key_));
  const proto::ArtifactHeader& header = body.header();
  if (header.dtype() != proto::DTYPE_INT8 || !body.has_int8_graph()) {
    return absl::InvalidArgumentError("a deployed model must be an INT8 artifact with an int8 graph");
  }
  if (header.model_id() != model_id_) {
    return absl::InvalidArgumentError(absl::StrCat("deployed model is for model_id '", header.model_id(),
                                                   "', not this federation's '", model_id_, "'"));
  }
  if (header.version() <= version_) {
    return absl::FailedPreconditionError(
        absl::StrCat("deployed model version ", header.version(), " is not newer than the deployed ", version_));
  }
  // The devices' own loader with their kernels and limits: what loads here
  // loads on every device. The engine is dropped; only the verdict matters.
  EngineOptions device_options;
  device_options.limits = device_limits_;
  absl::Status loads = InferenceEngine::Load(artifact, coordinator_key_, device_options).status();
  if (!loads.ok()) {
    return absl::Status(loads.code(), absl::StrCat("devices would refuse deployed model version ", header.version(),
                                                   ": ", loads.message()));
  }
  artifact_ = std::move(artifact);
  version_ = header.version();
  return absl::OkStatus();
}

}  // namespace fedge
