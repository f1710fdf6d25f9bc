#include "compression/model/distilling_deployer.h"

#include <torch/torch.h>

#include <utility>

#include "core/status.h"
#include "models/threads.h"

namespace fedge {

absl::StatusOr<std::unique_ptr<DistillingDeployer>> DistillingDeployer::Create(DistillingDeployerOptions options,
                                                                               DeployData data,
                                                                               SigningKey signing_key) {
  FEDGE_RETURN_IF_ERROR(ValidateDeployOptions(options.deploy));
  if (options.torch_threads < 0) return absl::InvalidArgumentError("deployer: torch_threads must be >= 0");
  if (data.test.size() == 0) return absl::InvalidArgumentError("deployer: the test set is empty");
  const torch::Tensor& proxy = data.proxy_images;
  if (!proxy.defined() || proxy.dim() != 4 || proxy.size(0) == 0 || proxy.scalar_type() != torch::kFloat32) {
    return absl::InvalidArgumentError("deployer: proxy images must be a non-empty float tensor [N, C, H, W]");
  }
  return std::unique_ptr<DistillingDeployer>(
      new DistillingDeployer(std::move(options), std::move(data), std::move(signing_key)));
}

DistillingDeployer::DistillingDeployer(DistillingDeployerOptions options, DeployData data, SigningKey signing_key)
    : options_(std::move(options)), data_(std::move(data)), signing_key_(std::move(signing_key)) {}

absl::StatusOr<Deployment> DistillingDeployer::Deploy(const ModelParams& global, uint64_t parent_version,
                                                      uint64_t version) {
  SetComputeThreads(options_.torch_threads);
  DeployOptions& o = options_.deploy;
  o.version = version;
  o.parent_version = parent_version;
  FEDGE_ASSIGN_OR_RETURN(DeployResult result, RunDeployPipeline(global, data_, o, signing_key_));
  if (options_.warm_start) o.initial_student = std::move(result.student_params);
  const DeployReport& r = result.report;
  Deployment deployment{.artifact = std::move(result.artifact),
                        .metrics = {{"teacher_accuracy", r.teacher_accuracy},
                                    {"fp32_accuracy", r.student_fp32_accuracy},
                                    {"int8_accuracy", r.student_int8_accuracy},
                                    {"teacher_fp32_bytes", static_cast<double>(r.teacher_fp32_weight_bytes)},
                                    {"size_ratio", r.size_ratio},
                                    {"student_parameters", static_cast<double>(r.student_parameters)},
                                    {"distill_kl", r.distill.final_kl}}};
  if (o.prune.fraction > 0) deployment.metrics["pruned_fraction"] = r.prune.achieved_fraction;
  return deployment;
}

}  // namespace fedge
