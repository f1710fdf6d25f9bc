#include "coordinator/degrading_deployer.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/artifact.h"
#include "core/status.h"

namespace fedge {

absl::StatusOr<Deployment> DegradingDeployer::Deploy(const ModelParams& global, uint64_t parent_version,
                                                     uint64_t version) {
  FEDGE_ASSIGN_OR_RETURN(Deployment deployment, inner_->Deploy(global, parent_version, version));
  if (version < from_version_) return deployment;
  absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(deployment.artifact, key_->verify_key());
  if (!body.ok()) return absl::InternalError(absl::StrCat("test_degrade: ", body.status().message()));
  for (proto::TensorProto& t : *body->mutable_tensors()) t.set_data(std::string(t.data().size(), '\0'));
  FEDGE_ASSIGN_OR_RETURN(deployment.artifact, SignArtifact(*body, *key_));
  deployment.metrics["test_degraded"] = 1;
  return deployment;
}

}  // namespace fedge
