// File: compression/model/pruning.h
//
// Unstructured magnitude pruning: the given fraction of the smallest-
// magnitude *weights* (parameters of rank >= 2: convolution kernels and
// linear matrices; biases are never pruned) is set to exactly zero, either
// over all weights together (global) or separately within each weight
// tensor (per layer). Zeros survive int8 quantisation exactly (symmetric
// weights, zero point 0). The returned mask keeps them at zero during a
// later fine-tune (DistillInto(..., &mask)).
//
// Exactly floor(fraction * count) weights are zeroed (ties broken by
// position), so the achieved fraction is predictable.
//
// Thread-safety: functions are reentrant; a module must not be used by two
// threads at once. A PruneMask is immutable after creation.
#ifndef FEDGE_COMPRESSION_MODEL_PRUNING_H_
#define FEDGE_COMPRESSION_MODEL_PRUNING_H_

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "absl/status/statusor.h"

namespace fedge {

enum class PruneScope {
  kGlobal,    // one threshold over all weight tensors
  kPerLayer,  // the same fraction removed from every weight tensor
};

struct PruneOptions {
  // Fraction of weights to zero, in [0, 1). 0 disables pruning.
  double fraction = 0;
  PruneScope scope = PruneScope::kGlobal;
};

struct PruneStats {
  int64_t prunable_weights = 0;  // elements of rank >= 2 parameters
  int64_t zeroed_weights = 0;
  double achieved_fraction = 0;
};

// One 0/1 float tensor per parameter of the module (in parameters()
// order); undefined tensors for parameters that are not pruned.
class PruneMask {
 public:
  PruneMask() = default;
  explicit PruneMask(std::vector<torch::Tensor> keep) : keep_(std::move(keep)) {}

  // Multiplies each pruned parameter by its mask (no autograd).
  // REQUIRES: `module` has the parameters the mask was built for.
  void Apply(torch::nn::Module& module) const;
  const std::vector<torch::Tensor>& keep() const { return keep_; }

 private:
  std::vector<torch::Tensor> keep_;
};

struct PruneResult {
  PruneMask mask;
  PruneStats stats;
};

// Prunes `module` in place. kInvalidArgument if fraction is not in [0, 1)
// or the module has no weight of rank >= 2; kInternal for a LibTorch error.
absl::StatusOr<PruneResult> PruneByMagnitude(torch::nn::Module& module, const PruneOptions& options);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_MODEL_PRUNING_H_
