#include "simulations/deploy_sim.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_health.h"
#include "coordinator/deploy_setup.h"
#include "core/status.h"
#include "models/dataset.h"
#include "simulations/round_metric.h"

namespace fedge {

absl::StatusOr<int64_t> DeviceTrainingExamples(const Scenario& scenario, int64_t train_size) {
  if (!scenario.deploy.enabled()) return train_size;
  if (scenario.deploy.proxy_examples >= train_size) {
    return absl::InvalidArgumentError(absl::StrCat("[deploy] proxy_examples = ", scenario.deploy.proxy_examples,
                                                   " leaves no training examples for the devices (the training "
                                                   "split has ",
                                                   train_size, ")"));
  }
  return train_size - scenario.deploy.proxy_examples;
}

absl::StatusOr<std::unique_ptr<DeploySimulation>> DeploySimulation::Create(const Scenario& scenario,
                                                                           const ImageDataset& train,
                                                                           const ImageDataset& test,
                                                                           SigningKey signing_key) {
  FEDGE_ASSIGN_OR_RETURN(int64_t first_proxy, DeviceTrainingExamples(scenario, train.num_examples));
  if (test.num_examples == 0) return absl::InvalidArgumentError("[deploy] needs the test split to measure accuracy");
  std::vector<int64_t> proxy(static_cast<size_t>(train.num_examples - first_proxy));
  std::iota(proxy.begin(), proxy.end(), first_proxy);
  DistillingDeployerOptions o = DeployerOptionsFor(scenario, scenario.run.torch_threads);
  VerifyKey verify_key = signing_key.verify_key();
  ExampleBatch health;
  {
    const int64_t n = std::min<int64_t>(kHealthExamples, test.num_examples);
    std::vector<int64_t> first(static_cast<size_t>(n));
    std::iota(first.begin(), first.end(), 0);
    TensorDataset t = ToTensors(test, first);
    torch::Tensor images = t.images.reshape({n, -1}).contiguous();
    health.dim = images.size(1);
    health.features.assign(images.data_ptr<float>(), images.data_ptr<float>() + images.numel());
    torch::Tensor labels = t.labels.to(torch::kInt32).contiguous();
    health.labels.assign(labels.data_ptr<int32_t>(), labels.data_ptr<int32_t>() + n);
  }
  FEDGE_ASSIGN_OR_RETURN(
      std::unique_ptr<DistillingDeployer> deployer,
      DistillingDeployer::Create(std::move(o), DeployData{ToTensors(train, proxy).images, ToTensors(test)},
                                 std::move(signing_key)));
  return std::unique_ptr<DeploySimulation>(
      new DeploySimulation(scenario, std::move(deployer), std::move(verify_key), std::move(health)));
}

DeploySimulation::DeploySimulation(const Scenario& scenario, std::unique_ptr<DistillingDeployer> deployer,
                                   VerifyKey verify_key, ExampleBatch health)
    : every_rounds_(scenario.deploy.every_rounds),
      deployer_(std::move(deployer)),
      verify_key_(std::move(verify_key)),
      min_accuracy_(scenario.rollout.min_accuracy),
      health_(std::move(health)) {}

void DeploySimulation::ConfigureDevice(DeviceOptions& options) const {
  options.inference_min_accuracy = min_accuracy_;
  options.inference_health_check = [this](const ModelHandle& model) { return HeldBackAccuracy(model, health_); };
}

void DeploySimulation::Configure(FederationOptions& options) {
  options.deploy_every = every_rounds_;
  options.deployer = deployer_.get();
}

ModelSlot* DeploySimulation::SlotFor(const std::string& device_id) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<ModelSlot>& slot = slots_[device_id];
  if (slot == nullptr) slot = std::make_unique<ModelSlot>(verify_key_, ModelSlotOptions{});
  return slot.get();
}

void DeploySimulation::FillRow(const proto::RoundRecord& record, RoundRow& row) {
  row.deployed_version = static_cast<int64_t>(record.deployed_model_version());
  row.devices_serving_deployed = static_cast<int64_t>(RoundMetric(record, "devices_serving_deployed", 0));
  row.deploy_teacher_accuracy = RoundMetric(record, "deploy_teacher_accuracy", NAN);
  row.deploy_student_accuracy = RoundMetric(record, "deploy_fp32_accuracy", NAN);
  row.deploy_int8_accuracy = RoundMetric(record, "deploy_int8_accuracy", NAN);
  row.deploy_artifact_bytes = RoundMetric(record, "deploy_artifact_bytes", NAN);
  row.deploy_size_ratio = RoundMetric(record, "deploy_size_ratio", NAN);
  const auto count = [&](const char* name) { return static_cast<int64_t>(RoundMetric(record, name, 0)); };
  row.rollout_version = count("rollout_version");
  row.rollout_stage = count("rollout_stage");
  row.rollout_state = count("rollout_state");
  row.rollout_advanced = count("rollout_advanced");
  row.rollout_aborted = count("rollout_aborted");
  row.serving_rollout_version = count("rollout_serving_version");
  row.serving_previous_version = count("rollout_serving_previous");
  row.serving_other_version = count("rollout_serving_other");
}

}  // namespace fedge
