#include "models/torch_evaluator.h"

#include <torch/torch.h>

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
  torch::nn::Sequential model ABSL_GUARDED_BY(mu);
};

TorchEvaluator::TorchEvaluator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TorchEvaluator::~TorchEvaluator() = default;

absl::StatusOr<std::unique_ptr<TorchEvaluator>> TorchEvaluator::Create(std::string_view architecture,
                                                                       const TensorDataset& test_data,
                                                                       int64_t batch_size, int torch_threads) {
  if (test_data.size() == 0) return absl::InvalidArgumentError("evaluator: the test set is empty");
  if (batch_size < 1) return absl::InvalidArgumentError(absl::StrCat("evaluator: batch_size must be >= 1, got ", batch_size));
  if (torch_threads < 0) return absl::InvalidArgumentError("evaluator: torch_threads must be >= 0");
  // The seed only fixes the throw-away initial weights; Evaluate overwrites them.
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential model, CreateModel(architecture, 0));
  auto impl = std::make_unique<Impl>();
  impl->architecture = std::string(architecture);
  impl->data = test_data;
  impl->batch_size = batch_size;
  impl->torch_threads = torch_threads;
  impl->model = std::move(model);
  return std::unique_ptr<TorchEvaluator>(new TorchEvaluator(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<TorchEvaluator>> TorchEvaluator::Create(std::string_view architecture,
                                                                       const ImageDataset& test_data,
                                                                       int64_t batch_size, int torch_threads) {
  TensorDataset tensors;
  try {
    tensors = ToRawTensors(test_data);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("evaluator: converting the test set failed: ", e.what()));
  }
  return Create(architecture, tensors, batch_size, torch_threads);
}

absl::StatusOr<std::map<std::string, double>> TorchEvaluator::Evaluate(const ModelParams& params) {
  FEDGE_RETURN_IF_ERROR(params.Validate());
  absl::MutexLock lock(&impl_->mu);
  SetComputeThreads(impl_->torch_threads);
  absl::Status loaded = LoadParams(params, *impl_->model);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("evaluator (", impl_->architecture, "): ", loaded.message()));
  }
  FEDGE_ASSIGN_OR_RETURN(EvalStats stats, fedge::Evaluate(impl_->model, impl_->data, impl_->batch_size));
  return std::map<std::string, double>{{"test_accuracy", stats.accuracy}, {"test_loss", stats.loss}};
}

const std::string& TorchEvaluator::architecture() const { return impl_->architecture; }
int64_t TorchEvaluator::num_examples() const { return impl_->data.size(); }

}  // namespace fedge
