// File: client/example_scorer.h
//
// `ExampleScorer`: scores new labelled examples with a model, so the
// device's drift monitor sees how well the model it last trained from fits
// the data arriving now (client/device_pipeline.h). The interface is
// LibTorch-free; `TorchScorer` (torch_scorer.h) implements it.
#ifndef FEDGE_CLIENT_EXAMPLE_SCORER_H_
#define FEDGE_CLIENT_EXAMPLE_SCORER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/params.h"

namespace fedge {

// Per-example results, in input order.
struct ExampleScores {
  std::vector<float> losses;     // cross-entropy of the true label
  std::vector<uint8_t> correct;  // 1 when the top class is the label
};

// Thread-safety: one call at a time.
class ExampleScorer {
 public:
  virtual ~ExampleScorer() = default;

  // Scores with `params` from now on. kInvalidArgument for another layout.
  virtual absl::Status SetModel(const ModelParams& params) = 0;
  // False until SetModel succeeded: nothing can be scored before.
  virtual bool has_model() const = 0;
  // Scores `labels.size()` examples of `features.size() / labels.size()`
  // features each (row-major, preprocessed as for training).
  // kFailedPrecondition without a model, kInvalidArgument for a size that
  // does not fit the model, kInternal for a LibTorch failure.
  virtual absl::StatusOr<ExampleScores> Score(absl::Span<const float> features, absl::Span<const int32_t> labels) = 0;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_EXAMPLE_SCORER_H_
