// File: core/evaluator.h
//
// `ModelEvaluator` scores a flat model on data its owner holds: the
// coordinator's held-out test set, a device's local validation split. The
// interface is LibTorch-free so the coordinator can take one without
// depending on Torch; `TorchEvaluator` (models/evaluator.h) implements it.
//
// Thread-safety: an evaluator is used by one thread at a time.
#ifndef FEDGE_CORE_EVALUATOR_H_
#define FEDGE_CORE_EVALUATOR_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "core/params.h"

namespace fedge {

class ModelEvaluator {
 public:
  virtual ~ModelEvaluator() = default;
  // Metrics keyed by name, e.g. "test_accuracy" (in [0, 1]) and
  // "test_loss". kInvalidArgument when `params` does not fit the model the
  // evaluator was built for.
  virtual absl::StatusOr<std::map<std::string, double>> Evaluate(const ModelParams& params) = 0;
};

}  // namespace fedge

#endif  // FEDGE_CORE_EVALUATOR_H_
