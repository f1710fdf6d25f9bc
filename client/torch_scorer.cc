#include "client/torch_scorer.h"

#include <torch/torch.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "models/torch_params.h"
#include "models/zoo.h"

namespace fedge {

struct TorchScorer::Impl {
  torch::nn::Sequential model;
  std::vector<int64_t> example_shape;
  int64_t width = 0;
  ParamLayout layout;
  bool loaded = false;
};

TorchScorer::TorchScorer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TorchScorer::~TorchScorer() = default;

absl::StatusOr<std::unique_ptr<TorchScorer>> TorchScorer::Create(const std::string& architecture,
                                                                 const ModelShape& shape) {
  auto impl = std::make_unique<Impl>();
  FEDGE_ASSIGN_OR_RETURN(impl->model, CreateModel(architecture, 0, shape));  // weights come from SetModel
  FEDGE_ASSIGN_OR_RETURN(impl->example_shape, ExampleShape(architecture, shape));
  FEDGE_ASSIGN_OR_RETURN(impl->width, InputFeatures(architecture, shape));
  impl->layout = LayoutOf(*impl->model);
  impl->model->eval();
  return std::unique_ptr<TorchScorer>(new TorchScorer(std::move(impl)));
}

absl::Status TorchScorer::SetModel(const ModelParams& params) {
  if (!(params.layout == impl_->layout)) {
    return absl::InvalidArgumentError("scorer: the model's layout is not the scorer's architecture");
  }
  FEDGE_RETURN_IF_ERROR(LoadParams(params, *impl_->model));
  impl_->loaded = true;
  return absl::OkStatus();
}

bool TorchScorer::has_model() const { return impl_->loaded; }

absl::StatusOr<ExampleScores> TorchScorer::Score(absl::Span<const float> features, absl::Span<const int32_t> labels) {
  if (!impl_->loaded) return absl::FailedPreconditionError("scorer: no model yet");
  const int64_t n = static_cast<int64_t>(labels.size());
  if (static_cast<int64_t>(features.size()) != n * impl_->width) {
    return absl::InvalidArgumentError(absl::StrCat("scorer: ", features.size(), " values are not ", n,
                                                   " examples of ", impl_->width, " features"));
  }
  ExampleScores scores;
  if (n == 0) return scores;
  try {
    torch::NoGradGuard no_grad;
    std::vector<int64_t> dims = {n};
    dims.insert(dims.end(), impl_->example_shape.begin(), impl_->example_shape.end());
    const torch::Tensor x = torch::from_blob(const_cast<float*>(features.data()), dims, torch::kFloat32);
    const torch::Tensor y =
        torch::from_blob(const_cast<int32_t*>(labels.data()), {n}, torch::kInt32).to(torch::kInt64);
    const torch::Tensor logits = impl_->model->forward(x);
    if (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= logits.size(1)) {
      return absl::InvalidArgumentError("scorer: a label is not a class of the model");
    }
    const torch::Tensor loss = torch::nll_loss(torch::log_softmax(logits, 1), y, {}, at::Reduction::None);
    const torch::Tensor correct = logits.argmax(1).eq(y).to(torch::kUInt8).contiguous();
    const torch::Tensor loss_c = loss.to(torch::kFloat32).contiguous();
    scores.losses.assign(loss_c.data_ptr<float>(), loss_c.data_ptr<float>() + n);
    scores.correct.assign(correct.data_ptr<uint8_t>(), correct.data_ptr<uint8_t>() + n);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("scorer: forward pass failed: ", e.what()));
  }
  return scores;
}

}  // namespace fedge
