#include "client/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/random.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/dataset.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

// Maps a task's TrainConfig onto TrainOptions; zero means "unset" in proto3
// and keeps the TrainOptions default, negative values reach validation.
absl::StatusOr<TrainOptions> ToTrainOptions(const proto::TrainConfig& config, uint64_t seed) {
  if (config.dp_noise_multiplier() > 0) {
    return absl::FailedPreconditionError(
        "the task asks for sample-level DP-SGD (dp_noise_multiplier > 0); TorchTrainer does not add DP noise, "
        "use the DP-SGD trainer of privacy/");
  }
  if (config.max_examples() < 0) return absl::InvalidArgumentError("train config: max_examples must be >= 0");
  TrainOptions o;
  if (config.local_epochs() != 0) o.epochs = config.local_epochs();
  if (config.batch_size() != 0) o.batch_size = config.batch_size();
  if (config.learning_rate() != 0) o.learning_rate = config.learning_rate();
  if (!config.optimizer().empty()) o.optimizer = config.optimizer();
  o.momentum = config.momentum();
  o.weight_decay = config.weight_decay();
  o.proximal_mu = config.proximal_mu();
  o.seed = seed;
  absl::Status valid = ValidateTrainOptions(o);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat("train config: ", valid.message()));
  return o;
}

// A seeded random subset of `max_examples` examples, or all of them.
TensorDataset SelectExamples(const TensorDataset& data, int64_t max_examples, uint64_t seed) {
  if (max_examples <= 0 || max_examples >= data.size()) return data;
  auto generator = at::detail::createCPUGenerator(seed);
  torch::Tensor idx = torch::randperm(data.size(), generator, torch::kInt64).slice(0, 0, max_examples);
  return TensorDataset{data.images.index_select(0, idx), data.labels.index_select(0, idx)};
}

}  // namespace

struct TorchTrainer::Impl {
  TorchTrainerOptions options;
  TensorDataset data;
  torch::nn::Sequential model;
  ParamLayout layout;
};

TorchTrainer::TorchTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TorchTrainer::~TorchTrainer() = default;

absl::StatusOr<std::unique_ptr<TorchTrainer>> TorchTrainer::Create(const TorchTrainerOptions& options,
                                                                   const TensorDataset& data) {
  if (options.torch_threads < 0) return absl::InvalidArgumentError("trainer: torch_threads must be >= 0");
  if (options.eval_batch_size < 1) return absl::InvalidArgumentError("trainer: eval_batch_size must be >= 1");
  if (data.size() == 0) return absl::FailedPreconditionError("trainer: the device has no local examples");
  // The initial weights are overwritten by every task's global model.
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential model, CreateModel(options.architecture, 0));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->data = data;
  impl->layout = LayoutOf(*model);
  impl->model = std::move(model);
  return std::unique_ptr<TorchTrainer>(new TorchTrainer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<TorchTrainer>> TorchTrainer::Create(const TorchTrainerOptions& options,
                                                                   const ImageDataset& data,
                                                                   absl::Span<const int64_t> indices) {
  for (int64_t i : indices) {
    if (i < 0 || i >= data.num_examples) {
      return absl::InvalidArgumentError(
          absl::StrCat("trainer: example index ", i, " is outside the dataset of ", data.num_examples));
    }
  }
  TensorDataset tensors;
  try {
    tensors = ToTensors(data, indices);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("trainer: converting local data failed: ", e.what()));
  }
  return Create(options, tensors);
}

const std::string& TorchTrainer::architecture() const { return impl_->options.architecture; }
const ParamLayout& TorchTrainer::layout() const { return impl_->layout; }
uint64_t TorchTrainer::num_examples() const { return static_cast<uint64_t>(impl_->data.size()); }

absl::StatusOr<TrainResult> TorchTrainer::Train(const ModelParams& global, const proto::TrainConfig& config,
                                                uint64_t seed) {
  FEDGE_ASSIGN_OR_RETURN(TrainOptions options, ToTrainOptions(config, seed));
  if (!(global.layout == impl_->layout)) {
    return absl::InvalidArgumentError(
        absl::StrCat("trainer: the global model's layout is not that of '", impl_->options.architecture, "'"));
  }
  FEDGE_RETURN_IF_ERROR(global.Validate());
  const int threads = impl_->options.torch_threads;
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);

  TensorDataset data;
  try {
    data = SelectExamples(impl_->data, config.max_examples(), DeriveSeed(seed, /*stream=*/1));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("trainer: selecting examples failed: ", e.what()));
  }
  FEDGE_RETURN_IF_ERROR(LoadParams(global, *impl_->model));
  const absl::Time started = absl::Now();  // reported only, never decides anything
  FEDGE_ASSIGN_OR_RETURN(TrainStats stats, fedge::Train(impl_->model, data, options));
  const double train_seconds = absl::ToDoubleSeconds(absl::Now() - started);

  TrainResult result;
  result.num_examples = static_cast<uint64_t>(data.size());
  result.metrics["train_loss"] = stats.mean_loss;
  result.metrics["train_steps"] = static_cast<double>(stats.steps);
  result.metrics["train_seconds"] = train_seconds;
  if (impl_->options.evaluate_local) {
    FEDGE_ASSIGN_OR_RETURN(EvalStats eval, Evaluate(impl_->model, data, impl_->options.eval_batch_size));
    result.metrics["local_accuracy"] = eval.accuracy;
    result.metrics["local_loss"] = eval.loss;
  }
  try {
    result.local = ToParams(*impl_->model);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("trainer: reading the trained parameters failed: ", e.what()));
  }
  for (float v : result.local.values) {
    if (!std::isfinite(v)) {
      return absl::InternalError("trainer: training diverged (non-finite weights); lower the learning rate");
    }
  }
  return result;
}

}  // namespace fedge
