#include "privacy/dpsgd/dpsgd_trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <exception>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "models/dataset.h"
#include "privacy/client_dp.h"

namespace fedge {

struct DpSgdTrainer::Impl {
  Impl(torch::nn::Sequential m, const DpSgdOptions& o, int64_t n, SecureRandom* r, PerExampleGradients e)
      : model(std::move(m)),
        options(o),
        dataset_size(n),
        rng(r),
        engine(std::move(e)),
        params(model->parameters()),
        optimizer(params, torch::optim::SGDOptions(o.learning_rate)
                              .momentum(o.momentum)
                              .weight_decay(o.weight_decay)),
        sampler(o.seed) {}

  torch::nn::Sequential model;
  DpSgdOptions options;
  int64_t dataset_size;
  SecureRandom* rng;
  PerExampleGradients engine;
  std::vector<torch::Tensor> params;
  torch::optim::SGD optimizer;
  SeededRandom sampler;
};

namespace {

// Clip factors min(1, C/‖g_n‖) as a double tensor; counts the clipped.
absl::StatusOr<torch::Tensor> ClipFactors(const torch::Tensor& norms, double clip_norm, int64_t& clipped) {
  torch::Tensor n = norms.to(torch::kFloat64).contiguous();
  torch::Tensor factors = torch::empty_like(n);
  const double* in = n.data_ptr<double>();
  double* out = factors.data_ptr<double>();
  for (int64_t i = 0; i < n.numel(); ++i) {
    if (!std::isfinite(in[i])) {
      return absl::FailedPreconditionError(
          "a per-example gradient is not finite; training diverged (lower the learning rate)");
    }
    out[i] = ClipFactor(in[i], clip_norm);
    if (in[i] > clip_norm) ++clipped;
  }
  return factors;
}

}  // namespace

absl::Status ValidateDpSgdOptions(const DpSgdOptions& o) {
  if (!std::isfinite(o.clip_norm) || o.clip_norm <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("clip_norm must be finite and > 0, got ", o.clip_norm));
  }
  if (!std::isfinite(o.noise_multiplier) || o.noise_multiplier < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise_multiplier must be finite and >= 0, got ", o.noise_multiplier));
  }
  if (o.expected_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected_batch_size must be >= 1, got ", o.expected_batch_size));
  }
  if (o.steps < 0) return absl::InvalidArgumentError(absl::StrCat("steps must be >= 0, got ", o.steps));
  if (o.steps == 0 && o.epochs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("epochs must be >= 1 when steps is 0, got ", o.epochs));
  }
  if (!std::isfinite(o.learning_rate) || o.learning_rate <= 0) {
    return absl::InvalidArgumentError("learning_rate must be finite and > 0");
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) return absl::InvalidArgumentError("momentum must be in [0, 1)");
  if (!std::isfinite(o.weight_decay) || o.weight_decay < 0) {
    return absl::InvalidArgumentError("weight_decay must be finite and >= 0");
  }
  return absl::OkStatus();
}

DpSgdTrainer::DpSgdTrainer(std::unique_ptr<Impl> impl, double sample_rate)
    : impl_(std::move(impl)), sample_rate_(sample_rate) {}
DpSgdTrainer::~DpSgdTrainer() = default;

absl::StatusOr<std::unique_ptr<DpSgdTrainer>> DpSgdTrainer::Create(torch::nn::Sequential model,
                                                                   const DpSgdOptions& options,
                                                                   int64_t dataset_size, SecureRandom* rng) {
  FEDGE_RETURN_IF_ERROR(ValidateDpSgdOptions(options));
  if (rng == nullptr) return absl::InvalidArgumentError("DP-SGD needs a SecureRandom for its noise");
  if (dataset_size < options.expected_batch_size) {
    return absl::InvalidArgumentError(absl::StrCat("expected_batch_size ", options.expected_batch_size,
                                                   " exceeds the dataset size ", dataset_size));
  }
  FEDGE_ASSIGN_OR_RETURN(PerExampleGradients engine, PerExampleGradients::Create(model, options.norm_method));
  try {
    auto impl = std::make_unique<Impl>(std::move(model), options, dataset_size, rng, std::move(engine));
    const double q = static_cast<double>(options.expected_batch_size) / static_cast<double>(dataset_size);
    return std::unique_ptr<DpSgdTrainer>(new DpSgdTrainer(std::move(impl), q));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("LibTorch error creating the DP-SGD optimiser: ", e.what()));
  }
}

torch::Tensor DpSgdTrainer::SampleBatch() {
  const int64_t n = impl_->dataset_size;
  std::vector<int64_t> indices;
  indices.reserve(static_cast<size_t>(impl_->options.expected_batch_size * 5 / 4 + 16));
  if (sample_rate_ >= 1) {
    for (int64_t i = 0; i < n; ++i) indices.push_back(i);
  } else {
    // Gaps between included examples of a Bernoulli(q) sequence are
    // geometric: O(q·N) draws instead of N.
    std::geometric_distribution<int64_t> gap(sample_rate_);
    for (int64_t i = -1;;) {
      const int64_t skip = gap(impl_->sampler);
      if (skip >= n - 1 - i) break;
      i += skip + 1;
      indices.push_back(i);
    }
  }
  return torch::tensor(indices, torch::kInt64);
}

absl::StatusOr<DpSgdStepStats> DpSgdTrainer::Step(const torch::Tensor& images, const torch::Tensor& labels) {
  if (!images.defined() || !labels.defined() || images.dim() < 1 || labels.dim() != 1 ||
      images.size(0) != labels.size(0)) {
    return absl::InvalidArgumentError("Step needs images [B, ...] and labels [B] with the same B");
  }
  Impl& s = *impl_;
  DpSgdStepStats stats;
  stats.batch_size = images.size(0);
  std::vector<torch::Tensor> sums;
  if (stats.batch_size > 0) {
    FEDGE_ASSIGN_OR_RETURN(stats.loss_sum, s.engine.Compute(images, labels));
    FEDGE_ASSIGN_OR_RETURN(torch::Tensor norms, s.engine.Norms());
    FEDGE_ASSIGN_OR_RETURN(torch::Tensor factors, ClipFactors(norms, s.options.clip_norm, stats.clipped));
    FEDGE_ASSIGN_OR_RETURN(sums, s.engine.WeightedSum(factors));
  }
  try {
    torch::NoGradGuard no_grad;
    const double noise_std = s.options.noise_multiplier * s.options.clip_norm;
    const double scale = 1.0 / static_cast<double>(s.options.expected_batch_size);
    for (size_t i = 0; i < s.params.size(); ++i) {
      torch::Tensor& param = s.params[i];
      torch::Tensor g = sums.empty() ? torch::zeros(param.sizes(), param.options().dtype(torch::kFloat32))
                                     : sums[i].to(torch::kFloat32).contiguous();
      s.rng->AddGaussianNoise(absl::MakeSpan(g.data_ptr<float>(), static_cast<size_t>(g.numel())), noise_std);
      g.mul_(scale);
      param.mutable_grad() = g.to(param.scalar_type()).view(param.sizes());
    }
    s.optimizer.step();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("LibTorch error in the DP-SGD update: ", e.what()));
  }
  return stats;
}

SgmEvent PlanDpSgd(const DpSgdOptions& options, int64_t dataset_size) {
  const int64_t b = options.expected_batch_size;
  return SgmEvent{.sample_rate = static_cast<double>(b) / static_cast<double>(dataset_size),
                  .noise_multiplier = options.noise_multiplier,
                  .steps = options.steps > 0 ? options.steps : options.epochs * ((dataset_size + b - 1) / b)};
}

absl::StatusOr<DpSgdStats> TrainWithDpSgd(torch::nn::Sequential& model, const TensorDataset& data,
                                          const DpSgdOptions& options, SecureRandom* rng) {
  FEDGE_RETURN_IF_ERROR(ValidateDpSgdOptions(options));
  const int64_t n = data.size();
  if (n == 0) return absl::FailedPreconditionError("no training examples");
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DpSgdTrainer> trainer, DpSgdTrainer::Create(model, options, n, rng));
  const int64_t steps = PlanDpSgd(options, n).steps;
  DpSgdStats stats;
  stats.sample_rate = trainer->sample_rate();
  stats.noise_multiplier = options.noise_multiplier;
  stats.clip_norm = options.clip_norm;
  double loss_sum = 0;
  int64_t clipped = 0;
  model->train();
  for (int64_t t = 0; t < steps; ++t) {
    if (options.between_batches) FEDGE_RETURN_IF_ERROR(options.between_batches());
    torch::Tensor x, y;
    try {
      torch::Tensor indices = trainer->SampleBatch();
      x = ModelInput(data.images.index_select(0, indices));  // raw uint8 pixels are normalised per batch
      y = data.labels.index_select(0, indices);
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("LibTorch error sampling a batch: ", e.what()));
    }
    FEDGE_ASSIGN_OR_RETURN(DpSgdStepStats step, trainer->Step(x, y));
    ++stats.steps;
    stats.examples += step.batch_size;
    loss_sum += step.loss_sum;
    clipped += step.clipped;
  }
  if (stats.examples > 0) {
    stats.mean_loss = loss_sum / static_cast<double>(stats.examples);
    stats.clipped_fraction = static_cast<double>(clipped) / static_cast<double>(stats.examples);
  }
  return stats;
}

}  // namespace fedge
