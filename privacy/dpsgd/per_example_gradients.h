// File: privacy/dpsgd/per_example_gradients.h
//
// Per-example gradients of a zoo model (a flat torch::nn::Sequential) from
// ONE forward and ONE backward pass, for DP-SGD's per-example clipping.
//
// LibTorch C++ has neither module hooks nor vmap, so the engine runs the
// Sequential layer by layer itself: it keeps the input activation a of every
// parametrised layer, asks autograd for the gradient δ of the summed loss
// with respect to every parametrised layer's OUTPUT (one backward, which
// skips the parameter gradients autograd would otherwise compute), and then
// uses closed forms, with n the example:
//
//   Linear / Conv2d   write the layer as a batched contraction: A[n] is the
//                     input [D, L] (Conv2d: im2col of the input,
//                     D = C_in·kh·kw, L = output positions; Linear: L = 1
//                     or the sequence length), G[n] = δ[n] as [P, L]:
//                       g_W[n] = G[n] A[n]ᵀ,  g_b[n] = Σ_L G[n]
//                     norm only: ‖g_W[n]‖² = ⟨A[n]ᵀA[n], G[n]ᵀG[n]⟩ (the
//                     Gram / "ghost" norm; L = 1 gives ‖a[n]‖²‖δ[n]‖²)
//   GroupNorm         with x̂ the normalised input (recomputed):
//                       g_γ[n] = Σ_spatial δ[n]·x̂[n],  g_β[n] = Σ_spatial δ[n]
//
// For each Linear/Conv2d layer the norm is taken by whichever is cheaper:
// materialising g_W (cost P·D·L per example) or the Gram form (L²·(D+P)).
// The weighted sum Σ_n w_n g[n] (w_n the clip factors) then reuses the
// materialised gradients, or, for Gram layers, is one contraction of the
// reweighted δ with A, so per-example gradients of those layers never exist.
//
// Supported layers: Linear, Conv2d (groups 1, zero or no padding, any stride
// and dilation), GroupNorm (affine or not), and the parameter-free ReLU,
// MaxPool2d and Flatten. Anything else (e.g. BatchNorm2d, which mixes
// examples) is refused when the engine is created.
//
// Usage (one DP-SGD step):
//   FEDGE_ASSIGN_OR_RETURN(auto engine, PerExampleGradients::Create(model));
//   FEDGE_ASSIGN_OR_RETURN(double loss_sum, engine.Compute(images, labels));
//   FEDGE_ASSIGN_OR_RETURN(torch::Tensor norms, engine.Norms());
//   ... clip factors c from norms ...
//   FEDGE_ASSIGN_OR_RETURN(std::vector<torch::Tensor> sum, engine.WeightedSum(c));
#ifndef FEDGE_PRIVACY_DPSGD_PER_EXAMPLE_GRADIENTS_H_
#define FEDGE_PRIVACY_DPSGD_PER_EXAMPLE_GRADIENTS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include "absl/status/statusor.h"

namespace fedge {

// How per-example norms of Linear / Conv2d weights are obtained.
enum class NormMethod {
  kAuto,         // per layer, the cheaper of the two below
  kMaterialize,  // always form g_W[n]
  kGram,         // always the Gram (ghost) form: a test reference; ~20x a plain
                 // step on cnn_small (conv1's 576x576 Gram matrices), never use it to train
};

// Owns its capture buffers; shares the model (torch::nn::Sequential is a
// reference-counted handle), whose parameters it reads but never changes.
// Not thread-safe: one thread at a time, and the model must not be used
// elsewhere between Compute and the calls that read its results.
class PerExampleGradients {
 public:
  // Validates every layer of `model`. Returns kInvalidArgument naming the
  // first unsupported layer (index and type) or a frozen parameter.
  static absl::StatusOr<PerExampleGradients> Create(torch::nn::Sequential model,
                                                    NormMethod method = NormMethod::kAuto);

  PerExampleGradients(PerExampleGradients&&);
  PerExampleGradients& operator=(PerExampleGradients&&);
  ~PerExampleGradients();

  // Forward pass and one backward pass of the summed cross-entropy loss on
  // `images` [B, ...] and int64 `labels` [B], B >= 1; captures what the calls
  // below need and returns the summed loss. Leaves the parameters' .grad()
  // untouched. kInvalidArgument for an empty batch or mismatched shapes,
  // kInternal for a LibTorch error.
  absl::StatusOr<double> Compute(const torch::Tensor& images, const torch::Tensor& labels);

  // Batch size of the last Compute (0 before the first).
  int64_t batch_size() const;

  // L2 norm of each example's whole gradient (all parameters), float [B].
  // kFailedPrecondition before Compute.
  absl::StatusOr<torch::Tensor> Norms();

  // Σ_n weights[n]·g[n], one tensor per entry of model->parameters(), shaped
  // like it. `weights`: [B], any floating type. kFailedPrecondition before
  // Compute, kInvalidArgument for a wrong weight shape.
  absl::StatusOr<std::vector<torch::Tensor>> WeightedSum(const torch::Tensor& weights);

  // Materialised per-example gradients, one tensor [B, parameter shape...]
  // per entry of model->parameters(). For tests and diagnostics: DP-SGD does
  // not need them. kFailedPrecondition before Compute.
  absl::StatusOr<std::vector<torch::Tensor>> Materialize();

 private:
  struct State;
  explicit PerExampleGradients(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace fedge

#endif  // FEDGE_PRIVACY_DPSGD_PER_EXAMPLE_GRADIENTS_H_
