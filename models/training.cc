#include "models/training.h"

#include <torch/torch.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

// Adds the gradient of (mu/2)||w - anchor||^2, i.e. mu * (w - anchor).
void AddProximalGradient(torch::nn::Sequential& model, const std::vector<torch::Tensor>& anchor, double mu) {
  torch::NoGradGuard no_grad;
  auto params = model->parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].grad().defined()) params[i].grad().add_(params[i] - anchor[i], mu);
  }
}

absl::StatusOr<TrainStats> TrainUnchecked(torch::nn::Sequential& model, const TensorDataset& data,
                                          const TrainOptions& options) {
  model->train();
  auto optimizer = MakeOptimizer(model, options.optimizer, options.learning_rate, options.momentum,
                                 options.weight_decay);
  std::vector<torch::Tensor> anchor;
  if (options.proximal_mu > 0) {
    for (const auto& p : model->parameters()) anchor.push_back(p.detach().clone());
  }
  auto generator = at::detail::createCPUGenerator(options.seed);
  const int64_t n = data.size();
  TrainStats stats;
  double loss_sum = 0;
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    torch::Tensor order = torch::randperm(n, generator, torch::kInt64);
    for (int64_t start = 0; start < n; start += options.batch_size) {
      if (options.between_batches) FEDGE_RETURN_IF_ERROR(options.between_batches());
      torch::Tensor idx = order.slice(0, start, std::min(n, start + options.batch_size));
      torch::Tensor x = ModelInput(data.images.index_select(0, idx));  // uint8 pixels normalised per batch
      torch::Tensor y = data.labels.index_select(0, idx);
      optimizer->zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
      loss.backward();
      if (options.proximal_mu > 0) AddProximalGradient(model, anchor, options.proximal_mu);
      optimizer->step();
      loss_sum += loss.item<double>();
      ++stats.steps;
    }
  }
  stats.examples = n;
  stats.mean_loss = stats.steps > 0 ? loss_sum / stats.steps : 0;
  return stats;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(torch::nn::Sequential& model, std::string_view optimizer,
                                                       double learning_rate, double momentum, double weight_decay) {
  if (optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(model->parameters(),
                                                torch::optim::AdamOptions(learning_rate).weight_decay(weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      model->parameters(), torch::optim::SGDOptions(learning_rate).momentum(momentum).weight_decay(weight_decay));
}

absl::Status ValidateTrainOptions(const TrainOptions& o) {
  if (o.epochs < 1) return absl::InvalidArgumentError(absl::StrCat("epochs must be >= 1, got ", o.epochs));
  if (o.batch_size < 1) return absl::InvalidArgumentError(absl::StrCat("batch_size must be >= 1, got ", o.batch_size));
  if (!(o.learning_rate > 0)) return absl::InvalidArgumentError("learning_rate must be > 0");
  if (o.momentum < 0 || o.momentum >= 1) return absl::InvalidArgumentError("momentum must be in [0, 1)");
  if (o.weight_decay < 0) return absl::InvalidArgumentError("weight_decay must be >= 0");
  if (o.proximal_mu < 0) return absl::InvalidArgumentError("proximal_mu must be >= 0");
  if (o.optimizer != "sgd" && o.optimizer != "adam") {
    return absl::InvalidArgumentError(absl::StrCat("optimizer must be 'sgd' or 'adam', got '", o.optimizer, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainStats> Train(torch::nn::Sequential& model, const TensorDataset& data,
                                 const TrainOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateTrainOptions(options));
  if (data.size() == 0) return absl::FailedPreconditionError("no training examples");
  try {
    return TrainUnchecked(model, data, options);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("LibTorch error during training: ", e.what()));
  }
}

absl::StatusOr<std::vector<BatchScore>> ScoreBatches(torch::nn::Sequential& model, const TensorDataset& data,
                                                     int64_t batch_size, int64_t first_batch, int64_t last_batch) {
  std::vector<BatchScore> scores;
  try {
    // No autograd records and no version counters: cheaper than NoGradGuard.
    c10::InferenceMode inference;
    model->eval();
    const int64_t n = data.size();
    for (int64_t b = first_batch; b < last_batch; ++b) {
      const int64_t start = b * batch_size;
      const int64_t end = std::min(n, start + batch_size);
      torch::Tensor logits = model->forward(ModelInput(data.images.slice(0, start, end)));
      torch::Tensor y = data.labels.slice(0, start, end);
      scores.push_back(
          {.loss_sum = torch::nn::functional::cross_entropy(
                           logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                           .item<double>(),
           .correct = logits.argmax(1).eq(y).sum().item<int64_t>()});
    }
    model->train();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("LibTorch error during evaluation: ", e.what()));
  }
  return scores;
}

EvalStats SumScores(const std::vector<BatchScore>& scores, int64_t examples) {
  int64_t correct = 0;
  double loss_sum = 0;
  for (const BatchScore& s : scores) {
    loss_sum += s.loss_sum;
    correct += s.correct;
  }
  return EvalStats{static_cast<double>(correct) / examples, loss_sum / examples, examples};
}

absl::StatusOr<EvalStats> Evaluate(torch::nn::Sequential& model, const TensorDataset& data, int64_t batch_size) {
  if (data.size() == 0) return absl::FailedPreconditionError("no evaluation examples");
  const int64_t batches = (data.size() + batch_size - 1) / batch_size;
  FEDGE_ASSIGN_OR_RETURN(std::vector<BatchScore> scores, ScoreBatches(model, data, batch_size, 0, batches));
  return SumScores(scores, data.size());
}

}  // namespace fedge
