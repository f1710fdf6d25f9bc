// File: coordinator/deploy_setup.h
//
// The `[deploy]` settings (settings/federation_settings.h) as a
// `DistillingDeployer` (compression/model/distilling_deployer.h): the
// teacher is the federation's model, artifacts carry the federation's name
// as model_id and are signed with the coordinator's key, and the unlabelled
// proxy set is the last `proxy_examples` training images of `proxy_data`.
// fedge-coordinator builds its deployer with MakeDeployer; fedge-sim, which
// already holds the dataset, takes DeployerOptionsFor and its own tensors.
//
// LibTorch side (target fedge::deploy_setup), so the coordinator libraries
// stay LibTorch-free.
//
// Example (coordinator_main.cc):
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelDeployer> deployer, MakeDeployer(settings, signing_key));
//   options.deployer = deployer.get();   // null when deploy.every_rounds == 0
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_COORDINATOR_DEPLOY_SETUP_H_
#define FEDGE_COORDINATOR_DEPLOY_SETUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "compression/model/distilling_deployer.h"
#include "core/deployer.h"
#include "core/signing.h"
#include "settings/federation_settings.h"

namespace fedge {

// The deployer's options for `settings`; `default_threads` stands in for
// deploy.threads = 0.
DistillingDeployerOptions DeployerOptionsFor(const FederationSettings& settings, int default_threads);

// The deployer for `settings.deploy`, or null when `deploy.every_rounds` is
// 0. Checks everything a deployment needs up front, so a bad setting fails
// at start rather than after the first round. kInvalidArgument for an
// unknown student architecture, proxy_examples larger than the training
// split, or options the pipeline refuses; LoadFashionMnist's codes
// (kNotFound, ...) for an unreadable proxy_data directory.
absl::StatusOr<std::unique_ptr<ModelDeployer>> MakeDeployer(const FederationSettings& settings,
                                                            const SigningKey& signing_key);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_DEPLOY_SETUP_H_
