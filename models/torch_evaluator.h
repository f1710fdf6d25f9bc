// File: models/torch_evaluator.h
//
// `TorchEvaluator` scores flat global-model parameters (core/params.h) on a
// held-out labelled dataset with LibTorch: the coordinator's evaluation hook
// after each round and the simulator's test-set metrics.
//
// It implements `ModelEvaluator` (core/evaluator.h), so a Federation takes
// it directly.
//
// The header is LibTorch-free (`TensorDataset` is only forward-declared), so
// coordinator code can hold an evaluator without compiling Torch headers.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(ImageDataset test, LoadFashionMnist(dir, "test"));
//   FEDGE_ASSIGN_OR_RETURN(auto evaluator, TorchEvaluator::Create("cnn_small", test));
//   FEDGE_ASSIGN_OR_RETURN(auto metrics, evaluator->Evaluate(global));
//   // metrics["test_accuracy"], metrics["test_loss"]
#ifndef FEDGE_MODELS_TORCH_EVALUATOR_H_
#define FEDGE_MODELS_TORCH_EVALUATOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/evaluator.h"
#include "core/idx.h"
#include "core/params.h"

namespace fedge {

struct TensorDataset;  // models/dataset.h

// Owns `replicas` zoo model instances and a reference to the test data.
// With several replicas, Evaluate scores contiguous ranges of batches on
// them in parallel threads and sums the per-batch scores in batch order, so
// its result is bit-identical to one replica's (models/training.h,
// ScoreBatches) while it keeps that many cores busy.
// Thread-safety: Evaluate is serialised internally, so concurrent calls are
// safe but do not run in parallel.
class TorchEvaluator final : public ModelEvaluator {
 public:
  // `architecture` is a zoo name (models/zoo.h); `test_data` is shared (a
  // tensor copy is a reference), not copied. `batch_size` bounds the
  // examples per forward pass; `torch_threads` > 0 sets LibTorch's
  // process-wide intra-op thread count before each evaluation, 0 leaves it;
  // `replicas` model instances score batches in parallel (see above).
  // kInvalidArgument for an unknown architecture, empty data, or
  // batch_size < 1 / torch_threads < 0 / replicas < 1.
  static absl::StatusOr<std::unique_ptr<TorchEvaluator>> Create(std::string_view architecture,
                                                                const TensorDataset& test_data,
                                                                int64_t batch_size = 64, int torch_threads = 0,
                                                                int replicas = 1);
  // Same for an image set (e.g. LoadFashionMnist(dir, "test")), held as
  // uint8 pixels and normalised per batch: 7.8 MB for the 10k test images
  // instead of 31 MB as floats. The default batch is models/training.h's
  // kDefaultEvalBatchSize, which bounds the activations of a pass.
  static absl::StatusOr<std::unique_ptr<TorchEvaluator>> Create(std::string_view architecture,
                                                                const ImageDataset& test_data,
                                                                int64_t batch_size = 64, int torch_threads = 0,
                                                                int replicas = 1);
  ~TorchEvaluator() override;
  TorchEvaluator(const TorchEvaluator&) = delete;
  TorchEvaluator& operator=(const TorchEvaluator&) = delete;

  // Loads `params` into the model and returns {"test_accuracy", "test_loss"}
  // (accuracy in [0, 1], mean cross-entropy). kInvalidArgument when the
  // layout is not the architecture's; kInternal for a LibTorch failure.
  absl::StatusOr<std::map<std::string, double>> Evaluate(const ModelParams& params) override;

  const std::string& architecture() const;
  int64_t num_examples() const;

 private:
  struct Impl;
  explicit TorchEvaluator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_MODELS_TORCH_EVALUATOR_H_
