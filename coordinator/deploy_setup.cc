#include "coordinator/deploy_setup.h"

#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/idx.h"
#include "core/logging.h"
#include "core/status.h"
#include "models/dataset.h"
#include "models/zoo.h"

namespace fedge {
namespace {

// The last `proxy_examples` training images (labels dropped) and the whole
// test split. The tail, as fedge-distill takes it, so an operator can
// reproduce a deployment by hand on the same proxy set.
absl::StatusOr<DeployData> LoadDeployData(const DeploySettings& d) {
  FEDGE_ASSIGN_OR_RETURN(ImageDataset train, LoadFashionMnist(d.proxy_data, "train"));
  if (d.proxy_examples > train.num_examples) {
    return absl::InvalidArgumentError(absl::StrCat("deploy.proxy_examples (", d.proxy_examples, ") exceeds the ",
                                                   train.num_examples, " training images in ", d.proxy_data));
  }
  std::vector<int64_t> tail(static_cast<size_t>(d.proxy_examples));
  std::iota(tail.begin(), tail.end(), train.num_examples - d.proxy_examples);
  torch::Tensor proxy = ToTensors(train, tail).images;
  train = ImageDataset();  // 47 MB of pixels no longer needed
  FEDGE_ASSIGN_OR_RETURN(ImageDataset test, LoadFashionMnist(d.proxy_data, "test"));
  return DeployData{.proxy_images = std::move(proxy), .test = ToTensors(test)};
}

}  // namespace

DistillingDeployerOptions DeployerOptionsFor(const FederationSettings& s, int default_threads) {
  const DeploySettings& d = s.deploy;
  DistillingDeployerOptions o;
  o.deploy.teacher_architecture = s.model.name;
  o.deploy.student_architecture = d.student;
  o.deploy.model_id = s.name;
  o.deploy.distill.temperature = d.temperature;
  o.deploy.distill.epochs = d.epochs;
  o.deploy.distill.batch_size = d.batch_size;
  o.deploy.distill.learning_rate = d.learning_rate;
  o.deploy.distill.seed = s.seed;
  o.deploy.prune.fraction = d.prune_fraction;
  o.warm_start = d.warm_start;
  o.torch_threads = d.threads > 0 ? d.threads : default_threads;
  return o;
}

absl::StatusOr<std::unique_ptr<ModelDeployer>> MakeDeployer(const FederationSettings& settings,
                                                            const SigningKey& signing_key) {
  const DeploySettings& d = settings.deploy;
  if (d.every_rounds == 0) return nullptr;
  // An unknown student would otherwise only surface when the first round
  // closes; CreateModel's message lists the known names.
  absl::StatusOr<torch::nn::Sequential> student = CreateModel(d.student, 1);
  if (!student.ok()) return absl::InvalidArgumentError(absl::StrCat("deploy.student: ", student.status().message()));
  FEDGE_ASSIGN_OR_RETURN(DeployData data, LoadDeployData(d));
  const int64_t proxy = data.proxy_images.size(0), test = data.test.size();
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DistillingDeployer> deployer,
                         DistillingDeployer::Create(DeployerOptionsFor(settings, 0), std::move(data), signing_key));
  FEDGE_LOG(INFO) << "deploying every " << d.every_rounds << " rounds: " << settings.model.name
                  << " distilled into " << d.student << " on " << proxy << " proxy images (" << d.epochs
                  << " epochs, T=" << d.temperature << (d.warm_start ? ", warm start" : "")
                  << (d.prune_fraction > 0 ? absl::StrCat(", pruning ", d.prune_fraction) : "")
                  << "), int8, measured on " << test << " test examples from " << d.proxy_data;
  return deployer;
}

}  // namespace fedge
