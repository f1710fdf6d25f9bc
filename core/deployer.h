// File: core/deployer.h
//
// `ModelDeployer` turns a global fp32 model into the signed INT8 artifact
// devices serve (dtype INT8, proto/int8_model.proto). The coordinator calls
// it every `FederationOptions::deploy_every` rounds and publishes what it
// returns; the interface is LibTorch-free so the coordinator does not depend
// on Torch. `DistillingDeployer` (compression/model/distilling_deployer.h)
// implements it with distillation, optional pruning and int8 quantisation.
//
// Thread-safety: a deployer is used by one thread at a time.
#ifndef FEDGE_CORE_DEPLOYER_H_
#define FEDGE_CORE_DEPLOYER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/params.h"

namespace fedge {

struct Deployment {
  // A serialised SignedArtifact of dtype INT8 whose header carries `version`
  // and `parent_version` as requested.
  std::string artifact;
  // What the deployer measured, e.g. "teacher_accuracy", "fp32_accuracy"
  // (the fp32 student), "int8_accuracy", "teacher_fp32_bytes".
  std::map<std::string, double> metrics;
};

class ModelDeployer {
 public:
  virtual ~ModelDeployer() = default;
  // Builds the deployed model `version` from `global`, the fp32 global model
  // of version `parent_version`. kInvalidArgument when `global` does not fit
  // the deployer's teacher architecture; other codes as the implementation
  // documents. A failure leaves the previously deployed model in service.
  virtual absl::StatusOr<Deployment> Deploy(const ModelParams& global, uint64_t parent_version,
                                            uint64_t version) = 0;
};

}  // namespace fedge

#endif  // FEDGE_CORE_DEPLOYER_H_
