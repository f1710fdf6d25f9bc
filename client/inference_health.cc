#include "client/inference_health.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {

absl::StatusOr<std::optional<double>> HeldBackAccuracy(const ModelHandle& model, const ExampleBatch& batch) {
  if (batch.dim != model.input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the device's examples have ", batch.dim,
                                                   " features; the deployed model takes ", model.input_size()));
  }
  std::vector<float> probabilities(static_cast<size_t>(model.num_classes()));
  int64_t labelled = 0, correct = 0;
  for (int64_t i = 0; i < batch.size(); ++i) {
    const int32_t label = batch.labels[static_cast<size_t>(i)];
    if (label == ExampleStore::kNoLabel) continue;
    int predicted = -1;
    FEDGE_RETURN_IF_ERROR(model.Classify(batch.example(i), absl::MakeSpan(probabilities), &predicted));
    ++labelled;
    correct += predicted == label;
  }
  if (labelled == 0) return std::optional<double>();
  return std::optional<double>(static_cast<double>(correct) / static_cast<double>(labelled));
}

}  // namespace fedge
