// File: coordinator/deploy_setup.h
//
// Builds the `fedge-coordinator` deployer from the `[deploy]` settings
// (coordinator/coordinator_config.h): a `DistillingDeployer`
// (compression/model/distilling_deployer.h) whose teacher is the federation's
// architecture, whose artifacts carry the federation's model_id and are signed
// with the coordinator's key, fed with the unlabelled proxy set (the last
// `proxy_examples` training images of `proxy_data`) and the labelled test
// split of `proxy_data`.
//
// LibTorch side: compiled into the fedge-coordinator binary only, so the
// `fedge::coordinator` and `fedge::coordinator_grpc` libraries stay
// LibTorch-free.
//
// Example (coordinator_main.cc):
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelDeployer> deployer, MakeDeployer(config, signing_key));
//   config.federation.deployer = deployer.get();   // null when deploy.every_rounds == 0
//
// Thread-safety: a free function without shared state.
#ifndef FEDGE_COORDINATOR_DEPLOY_SETUP_H_
#define FEDGE_COORDINATOR_DEPLOY_SETUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "coordinator/coordinator_config.h"
#include "core/deployer.h"
#include "core/signing.h"

namespace fedge {

// The deployer for `config.deploy`, or null when `deploy.every_rounds` is 0.
// Checks everything a deployment needs up front, so a bad setting fails at
// start rather than after the first round. kInvalidArgument for an unknown
// student architecture, proxy_examples larger than the training split, or
// options the pipeline refuses; LoadFashionMnist's codes (kNotFound, ...)
// for an unreadable proxy_data directory.
// REQUIRES: ValidateCoordinatorConfig(config).ok().
absl::StatusOr<std::unique_ptr<ModelDeployer>> MakeDeployer(const CoordinatorConfig& config,
                                                            const SigningKey& signing_key);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_DEPLOY_SETUP_H_
