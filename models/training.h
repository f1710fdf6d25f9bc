// File: models/training.h
//
// Plain (non-private) local training and evaluation of zoo models. The
// device's Trainer (client/) and the coordinator's evaluator build on these;
// DP-SGD (privacy/dpsgd/) has its own loop with Poisson sampling.
//
// LibTorch reports errors as exceptions; these functions catch them and
// return kInternal, so no exception crosses this API.
// Thread-safety: a model must not be trained or evaluated from two threads
// at once; distinct models may be.
#ifndef FEDGE_MODELS_TRAINING_H_
#define FEDGE_MODELS_TRAINING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/optim/optimizer.h>

#include "absl/status/statusor.h"
#include "models/dataset.h"

namespace fedge {

struct TrainOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  double learning_rate = 0.05;
  double momentum = 0;
  double weight_decay = 0;
  std::string optimizer = "sgd";  // "sgd" or "adam"
  // FedProx proximal term (mu/2)||w - w_start||^2; 0 disables it.
  double proximal_mu = 0;
  // Seeds the shuffling of examples in each epoch.
  uint64_t seed = 0;
  // Called before every batch; a non-OK status stops training and is
  // returned (a device whose battery ran low stops between two batches).
  // Empty: never interrupted.
  std::function<absl::Status()> between_batches = nullptr;
};

struct TrainStats {
  double mean_loss = 0;  // over all steps
  int64_t examples = 0;  // examples processed in the last epoch (the data size)
  int64_t steps = 0;
};

struct EvalStats {
  double accuracy = 0;
  double loss = 0;
  int64_t examples = 0;
};

// Validates options: kInvalidArgument naming the bad field.
absl::Status ValidateTrainOptions(const TrainOptions& options);

// SGD (momentum, weight decay) or, for "adam", Adam over `model`'s
// parameters. Any other name gives SGD; callers validate names first.
std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(torch::nn::Sequential& model, std::string_view optimizer,
                                                       double learning_rate, double momentum, double weight_decay);

// Trains `model` in place on `data` (float images, or uint8 pixels
// normalised per batch: models/dataset.h ModelInput) with cross-entropy loss.
absl::StatusOr<TrainStats> Train(torch::nn::Sequential& model, const TensorDataset& data,
                                 const TrainOptions& options);

// Examples per forward pass of an evaluation by default. The activations
// of a pass grow with it (cnn_small at 1,000 examples: ~130 MB of im2col
// buffer and conv outputs; at 64, ~5 MB) while the CPU per example does not.
inline constexpr int64_t kDefaultEvalBatchSize = 64;

// Accuracy and mean cross-entropy of `model` on `data` (float images, or
// uint8 pixels normalised per batch: models/dataset.h ModelInput), under
// InferenceMode, `batch_size` examples per forward pass.
absl::StatusOr<EvalStats> Evaluate(torch::nn::Sequential& model, const TensorDataset& data,
                                   int64_t batch_size = kDefaultEvalBatchSize);

// One evaluation batch: its summed cross-entropy and correct predictions.
struct BatchScore {
  double loss_sum = 0;
  int64_t correct = 0;
};

// The scores of batches [first_batch, last_batch) of `data`, batch b being
// examples [b * batch_size, (b + 1) * batch_size), under InferenceMode.
// Evaluate is ScoreBatches over every batch then SumScores, so batch ranges
// scored on model replicas in parallel and summed in batch order give
// Evaluate's result bit for bit (models/torch_evaluator.h).
absl::StatusOr<std::vector<BatchScore>> ScoreBatches(torch::nn::Sequential& model, const TensorDataset& data,
                                                     int64_t batch_size, int64_t first_batch, int64_t last_batch);
// Sums the scores in order into the stats of `examples` examples.
EvalStats SumScores(const std::vector<BatchScore>& scores, int64_t examples);

}  // namespace fedge

#endif  // FEDGE_MODELS_TRAINING_H_
