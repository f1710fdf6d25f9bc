#include "client/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/cpu_time.h"
#include "core/layout_check.h"
#include "core/random.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/dataset.h"
#include "models/threads.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"
#include "privacy/dpsgd/dpsgd_trainer.h"

namespace fedge {
namespace {

// Maps a task's TrainConfig onto TrainOptions; zero means "unset" in proto3
// and keeps the TrainOptions default, negative values reach validation.
absl::StatusOr<TrainOptions> ToTrainOptions(const proto::TrainConfig& config, uint64_t seed) {
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

// The DP-SGD run a task asks for (dp_noise_multiplier > 0), built on the
// task's plain options: the batch size becomes the expected batch size of
// Poisson sampling.
absl::StatusOr<DpSgdOptions> ToDpSgdOptions(const TrainOptions& o, const proto::TrainConfig& config) {
  if (!(config.dp_clip_norm() > 0)) {
    return absl::InvalidArgumentError("train config: DP-SGD needs dp_clip_norm > 0 (the per-example clipping norm)");
  }
  if (o.optimizer != "sgd" || o.proximal_mu != 0) {
    return absl::InvalidArgumentError("train config: DP-SGD supports the sgd optimizer without a proximal term");
  }
  DpSgdOptions dp{.clip_norm = config.dp_clip_norm(),
                  .noise_multiplier = config.dp_noise_multiplier(),
                  .expected_batch_size = o.batch_size,
                  .epochs = o.epochs,
                  .learning_rate = o.learning_rate,
                  .momentum = o.momentum,
                  .weight_decay = o.weight_decay,
                  .seed = o.seed,
                  .between_batches = o.between_batches};
  absl::Status valid = ValidateDpSgdOptions(dp);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat("train config: ", valid.message()));
  return dp;
}

int64_t ExamplesUsed(int64_t available, int64_t max_examples) {
  return max_examples > 0 ? std::min(available, max_examples) : available;
}

// A seeded random subset of `max_examples` examples, or all of them.
TensorDataset SelectExamples(const TensorDataset& data, int64_t max_examples, uint64_t seed) {
  if (max_examples <= 0 || max_examples >= data.size()) return data;
  auto generator = at::detail::createCPUGenerator(seed);
  torch::Tensor idx = torch::randperm(data.size(), generator, torch::kInt64).slice(0, 0, max_examples);
  return TensorDataset{data.images.index_select(0, idx), data.labels.index_select(0, idx)};
}

// A drawn training set as tensors shaped for the model: features
// [n, example_shape...] (the tensor takes the batch's buffer over instead of
// copying it: a 6,000-example draw is 19 MB), labels int64.
TensorDataset BatchToTensors(ExampleBatch batch, const std::vector<int64_t>& example_shape) {
  std::vector<int64_t> dims = {batch.size()};
  dims.insert(dims.end(), example_shape.begin(), example_shape.end());
  auto owned = std::make_unique<std::vector<float>>(std::move(batch.features));
  torch::Tensor features =
      torch::from_blob(
          owned->data(), {batch.size(), batch.dim}, [buffer = owned.get()](void*) { delete buffer; },
          torch::kFloat32)
          .view(dims);
  owned.release();  // the tensor's deleter owns it now
  torch::Tensor labels =
      torch::from_blob(const_cast<int32_t*>(batch.labels.data()), {batch.size()}, torch::kInt32).to(torch::kInt64);
  return TensorDataset{features, labels};
}

}  // namespace

struct TorchTrainer::Impl {
  TorchTrainerOptions options;
  TensorDataset data;             // fixed examples, or
  TrainingData* stream = nullptr;  // a training set drawn per task
  std::vector<int64_t> example_shape;
  torch::nn::Sequential model;
  ParamLayout layout;

  // The task's examples: a seeded subset of the fixed ones, or a draw.
  absl::StatusOr<TensorDataset> Examples(int64_t max_examples, uint64_t seed) const {
    try {
      if (stream == nullptr) return SelectExamples(data, max_examples, seed);
      FEDGE_ASSIGN_OR_RETURN(ExampleBatch batch, stream->Draw(max_examples, seed));
      if (batch.size() == 0) return absl::FailedPreconditionError("trainer: the device has no labelled examples yet");
      if (batch.dim != stream->dim()) return absl::InternalError("trainer: the drawn examples changed width");
      return BatchToTensors(std::move(batch), example_shape);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("trainer: selecting examples failed: ", e.what()));
    }
  }
};

namespace {

// The model and everything about it, before the examples are attached.
absl::StatusOr<std::unique_ptr<TorchTrainer::Impl>> MakeImpl(const TorchTrainerOptions& options) {
  if (options.torch_threads < 0) return absl::InvalidArgumentError("trainer: torch_threads must be >= 0");
  if (options.eval_batch_size < 1) return absl::InvalidArgumentError("trainer: eval_batch_size must be >= 1");
  // The initial weights are overwritten by every task's global model.
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential model, CreateModel(options.architecture, 0, options.shape));
  auto impl = std::make_unique<TorchTrainer::Impl>();
  FEDGE_ASSIGN_OR_RETURN(impl->example_shape, ExampleShape(options.architecture, options.shape));
  impl->options = options;
  impl->layout = LayoutOf(*model);
  impl->model = std::move(model);
  return impl;
}

}  // namespace

TorchTrainer::TorchTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TorchTrainer::~TorchTrainer() = default;

absl::StatusOr<std::unique_ptr<TorchTrainer>> TorchTrainer::Create(const TorchTrainerOptions& options,
                                                                   const TensorDataset& data) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, MakeImpl(options));
  if (data.size() == 0) return absl::FailedPreconditionError("trainer: the device has no local examples");
  impl->data = data;
  return std::unique_ptr<TorchTrainer>(new TorchTrainer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<TorchTrainer>> TorchTrainer::Create(const TorchTrainerOptions& options,
                                                                   TrainingData* data) {
  if (data == nullptr) return absl::InvalidArgumentError("trainer: no training data");
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, MakeImpl(options));
  FEDGE_ASSIGN_OR_RETURN(const int64_t width, InputFeatures(options.architecture, options.shape));
  if (data->dim() != width) {
    return absl::InvalidArgumentError(absl::StrCat("trainer: the examples have ", data->dim(), " features but model '",
                                                   options.architecture, "' takes ", width,
                                                   " (model.input_features must match the data)"));
  }
  impl->stream = data;
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
    tensors = ToRawTensors(data, indices);  // normalised batch by batch
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("trainer: converting local data failed: ", e.what()));
  }
  return Create(options, tensors);
}

absl::StatusOr<std::optional<SgmEvent>> TorchTrainer::PlanPrivacy(const proto::TrainConfig& config) const {
  if (!(config.dp_noise_multiplier() > 0)) return std::nullopt;
  FEDGE_ASSIGN_OR_RETURN(TrainOptions options, ToTrainOptions(config, /*seed=*/0));
  FEDGE_ASSIGN_OR_RETURN(DpSgdOptions dp, ToDpSgdOptions(options, config));
  return PlanDpSgd(dp, ExamplesUsed(static_cast<int64_t>(num_examples()), config.max_examples()));
}

const std::string& TorchTrainer::architecture() const { return impl_->options.architecture; }
const ParamLayout& TorchTrainer::layout() const { return impl_->layout; }
uint64_t TorchTrainer::num_examples() const {
  return impl_->stream != nullptr ? impl_->stream->num_examples() : static_cast<uint64_t>(impl_->data.size());
}

absl::StatusOr<TrainResult> TorchTrainer::Train(const ModelParams& global, const proto::TrainConfig& config,
                                                uint64_t seed) {
  FEDGE_ASSIGN_OR_RETURN(TrainOptions options, ToTrainOptions(config, seed));
  options.between_batches = impl_->options.between_batches;
  FEDGE_RETURN_IF_ERROR(CheckSameLayout(
      impl_->layout, global.layout,
      absl::StrCat("trainer: the global model's layout is not that of '", impl_->options.architecture, "'"),
      absl::StrCat("'", impl_->options.architecture, "'"), "the global model"));
  FEDGE_RETURN_IF_ERROR(global.Validate());
  const int threads = impl_->options.torch_threads;
  SetComputeThreads(threads);

  FEDGE_ASSIGN_OR_RETURN(TensorDataset data, impl_->Examples(config.max_examples(), DeriveSeed(seed, /*stream=*/1)));
  FEDGE_RETURN_IF_ERROR(LoadParams(global, *impl_->model));
  TrainResult result;
  result.num_examples = static_cast<uint64_t>(data.size());
  const absl::Time started = absl::Now();  // reported only, never decides anything
  const double cpu_started = ThreadCpuSeconds();
  if (config.dp_noise_multiplier() > 0) {
    FEDGE_ASSIGN_OR_RETURN(DpSgdOptions dp, ToDpSgdOptions(options, config));
    SecureRandom* rng = impl_->options.dp_random ? impl_->options.dp_random : SecureRandom::Default();
    FEDGE_ASSIGN_OR_RETURN(DpSgdStats stats, TrainWithDpSgd(impl_->model, data, dp, rng));
    result.privacy = SgmEvent{.sample_rate = stats.sample_rate,
                              .noise_multiplier = stats.noise_multiplier,
                              .steps = stats.steps};
    result.metrics["train_steps"] = static_cast<double>(stats.steps);
  } else {
    FEDGE_ASSIGN_OR_RETURN(TrainStats stats, fedge::Train(impl_->model, data, options));
    result.metrics["train_loss"] = stats.mean_loss;
    result.metrics["train_steps"] = static_cast<double>(stats.steps);
  }
  result.metrics["train_seconds"] = absl::ToDoubleSeconds(absl::Now() - started);
  result.train_cpu_seconds = ThreadCpuSeconds() - cpu_started;
  // Losses and accuracies on private data are not privatised: a DP task
  // reports none of them.
  if (impl_->options.evaluate_local && !result.privacy) {
    TensorDataset sample = data;
    if (const int64_t cap = impl_->options.max_local_eval_examples; cap > 0 && sample.size() > cap) {
      sample = TensorDataset{data.images.narrow(0, 0, cap), data.labels.narrow(0, 0, cap)};
    }
    FEDGE_ASSIGN_OR_RETURN(EvalStats eval, Evaluate(impl_->model, sample, impl_->options.eval_batch_size));
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
