#include "models/torch_evaluator.h"

#include <torch/torch.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/dataset.h"
#include "models/threads.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {

struct TorchEvaluator::Impl {
  std::string architecture;
  TensorDataset data;
  int64_t batch_size;
  int torch_threads;
  absl::Mutex mu;
  std::vector<torch::nn::Sequential> replicas ABSL_GUARDED_BY(mu);

  // Every batch's score, the batches split in contiguous ranges over the
  // replicas, each range on its own thread (the first on this one).
  absl::StatusOr<std::vector<BatchScore>> ScoreAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
};

absl::StatusOr<std::vector<BatchScore>> TorchEvaluator::Impl::ScoreAll() {
  const int64_t batches = (data.size() + batch_size - 1) / batch_size;
  const int64_t parts = std::min<int64_t>(static_cast<int64_t>(replicas.size()), batches);
  std::vector<absl::StatusOr<std::vector<BatchScore>>> scored(parts);
  auto score = [&](int64_t p) {
    scored[p] = ScoreBatches(replicas[p], data, batch_size, batches * p / parts, batches * (p + 1) / parts);
  };
  std::vector<std::thread> threads;
  for (int64_t p = 1; p < parts; ++p) threads.emplace_back(score, p);
  score(0);
  for (std::thread& t : threads) t.join();
  std::vector<BatchScore> all;
  all.reserve(batches);
  for (absl::StatusOr<std::vector<BatchScore>>& part : scored) {
    FEDGE_RETURN_IF_ERROR(part.status());
    all.insert(all.end(), part->begin(), part->end());
  }
  return all;
}

TorchEvaluator::TorchEvaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TorchEvaluator::~TorchEvaluator() = default;

absl::StatusOr<std::unique_ptr<TorchEvaluator>> TorchEvaluator::Create(std::string_view architecture,
                                                                       const TensorDataset& test_data,
                                                                       int64_t batch_size, int torch_threads,
                                                                       int replicas) {
  if (test_data.size() == 0) return absl::InvalidArgumentError("evaluator: the test set is empty");
  if (batch_size < 1) return absl::InvalidArgumentError(absl::StrCat("evaluator: batch_size must be >= 1, got ", batch_size));
  if (torch_threads < 0) return absl::InvalidArgumentError("evaluator: torch_threads must be >= 0");
  if (replicas < 1) return absl::InvalidArgumentError("evaluator: replicas must be >= 1");
  auto impl = std::make_unique<Impl>();
  for (int r = 0; r < replicas; ++r) {
    // The seed only fixes the throw-away initial weights; Evaluate overwrites them.
    FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential model, CreateModel(architecture, 0));
    impl->replicas.push_back(std::move(model));
  }
  impl->architecture = std::string(architecture);
  impl->data = test_data;
  impl->batch_size = batch_size;
  impl->torch_threads = torch_threads;
  return std::unique_ptr<TorchEvaluator>(new TorchEvaluator(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<TorchEvaluator>> TorchEvaluator::Create(std::string_view architecture,
                                                                       const ImageDataset& test_data,
                                                                       int64_t batch_size, int torch_threads,
                                                                       int replicas) {
  TensorDataset tensors;
  try {
    tensors = ToRawTensors(test_data);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("evaluator: converting the test set failed: ", e.what()));
  }
  return Create(architecture, tensors, batch_size, torch_threads, replicas);
}

absl::StatusOr<std::map<std::string, double>> TorchEvaluator::Evaluate(const ModelParams& params) {
  FEDGE_RETURN_IF_ERROR(params.Validate());
  absl::MutexLock lock(&impl_->mu);
  SetComputeThreads(impl_->torch_threads);
  for (torch::nn::Sequential& replica : impl_->replicas) {
    absl::Status loaded = LoadParams(params, *replica);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("evaluator (", impl_->architecture, "): ", loaded.message()));
    }
  }
  FEDGE_ASSIGN_OR_RETURN(std::vector<BatchScore> scores, impl_->ScoreAll());
  const EvalStats stats = SumScores(scores, impl_->data.size());
  return std::map<std::string, double>{{"test_accuracy", stats.accuracy}, {"test_loss", stats.loss}};
}

const std::string& TorchEvaluator::architecture() const { return impl_->architecture; }
int64_t TorchEvaluator::num_examples() const { return impl_->data.size(); }

}  // namespace fedge
