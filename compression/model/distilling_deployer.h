// File: compression/model/distilling_deployer.h
//
// `DistillingDeployer` is the coordinator's `ModelDeployer`
// (core/deployer.h): each Deploy runs the deployment pipeline
// (deploy_pipeline.h) on the new global model — distillation into the
// student on the coordinator's unlabelled proxy set, optional pruning, int8
// quantisation, signing with the coordinator's key — and returns the signed
// INT8 artifact with the accuracies it measured on the held-out test set.
// With warm start (the default) each distillation continues from the
// previous deployment's student, so later deployments converge faster.
//
// Metrics of a Deployment: "teacher_accuracy", "fp32_accuracy" (the fp32
// student), "int8_accuracy", "teacher_fp32_bytes", "size_ratio"
// (teacher_fp32_bytes / artifact bytes), "student_parameters",
// "distill_kl" (final mean KL) and, with pruning, "pruned_fraction".
//
// Example (coordinator set-up):
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DistillingDeployer> deployer,
//       DistillingDeployer::Create(deploy_options, DeployData{proxy, test}, signing_key));
//   federation_options.deployer = deployer.get();
//   federation_options.deploy_every = 5;
//
// Thread-safety: one Deploy at a time (the Federation calls it from Tick).
#ifndef FEDGE_COMPRESSION_MODEL_DISTILLING_DEPLOYER_H_
#define FEDGE_COMPRESSION_MODEL_DISTILLING_DEPLOYER_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "compression/model/deploy_pipeline.h"
#include "core/deployer.h"
#include "core/signing.h"

namespace fedge {

struct DistillingDeployerOptions {
  // The pipeline's settings; `version`, `parent_version` and
  // `initial_student` are set by each Deploy call.
  DeployOptions deploy;
  // Continue each distillation from the previous deployment's student.
  bool warm_start = true;
  // LibTorch intra-op threads set before each deployment; 0 leaves them.
  int torch_threads = 0;
};

class DistillingDeployer final : public ModelDeployer {
 public:
  // kInvalidArgument for bad options, an empty test set, or proxy images
  // that are not a non-empty float [N, C, H, W] tensor.
  static absl::StatusOr<std::unique_ptr<DistillingDeployer>> Create(DistillingDeployerOptions options, DeployData data,
                                                                    SigningKey signing_key);

  // RunDeployPipeline's status codes.
  absl::StatusOr<Deployment> Deploy(const ModelParams& global, uint64_t parent_version, uint64_t version) override;

 private:
  DistillingDeployer(DistillingDeployerOptions options, DeployData data, SigningKey signing_key);

  DistillingDeployerOptions options_;
  const DeployData data_;
  const SigningKey signing_key_;
};

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_MODEL_DISTILLING_DEPLOYER_H_
