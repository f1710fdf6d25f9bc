// File: client/torch_scorer.h
//
// `TorchScorer`: the LibTorch `ExampleScorer` (example_scorer.h). It keeps
// its own instance of a zoo model (models/zoo.h), loads the parameters it is
// given and computes per-example cross-entropy and correctness in one
// forward pass per call. LibTorch stays in torch_scorer.cc.
//
// Ownership: owns its model. Thread-safety: one call at a time.
#ifndef FEDGE_CLIENT_TORCH_SCORER_H_
#define FEDGE_CLIENT_TORCH_SCORER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/example_scorer.h"
#include "core/model_shape.h"

namespace fedge {

class TorchScorer final : public ExampleScorer {
 public:
  // kInvalidArgument for an unknown architecture or a shape it cannot take.
  static absl::StatusOr<std::unique_ptr<TorchScorer>> Create(const std::string& architecture, const ModelShape& shape);
  ~TorchScorer() override;
  TorchScorer(const TorchScorer&) = delete;
  TorchScorer& operator=(const TorchScorer&) = delete;

  absl::Status SetModel(const ModelParams& params) override;
  bool has_model() const override;
  absl::StatusOr<ExampleScores> Score(absl::Span<const float> features, absl::Span<const int32_t> labels) override;

  // The LibTorch state, defined in torch_scorer.cc.
  struct Impl;

 private:
  explicit TorchScorer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_TORCH_SCORER_H_
