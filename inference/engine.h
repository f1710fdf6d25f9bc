// File: inference/engine.h
//
// `InferenceEngine` runs a signed int8 model artifact on a device: integer-
// only arithmetic from the quantised input to the int8 logits, then a float
// softmax. The artifact format and arithmetic are documented in
// inference/README.md.
//
// Loading is the trust boundary: `Load` verifies the Ed25519 signature
// against the pinned coordinator key, validates the whole graph once, checks
// what it would cost against `EngineOptions::limits` (load_limits.h) before
// allocating, packs weights for the selected kernels and allocates all
// memory it will ever use (two ping-pong activation buffers sized for the
// largest activation, plus the optimised kernels' im2col scratch).
// Inference then allocates nothing and validates only argument sizes, input
// values and the finiteness of the probabilities it returns.
//
// Example:
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<InferenceEngine> engine,
//                          InferenceEngine::Load(bytes, pinned_key, EngineOptions{}));
//   std::vector<float> probs(engine->num_classes());
//   int label = -1;
//   FEDGE_RETURN_IF_ERROR(engine->Classify(pixels, absl::MakeSpan(probs), &label));
//
// Thread-safety: an engine is thread-compatible, not thread-safe. Its
// inference methods mutate the internal arena, so one engine must be used by
// one thread at a time (give each worker thread its own engine). The const
// accessors may be called concurrently. To hot-swap models while serving, use
// ModelSlot (inference/model_slot.h).
#ifndef FEDGE_INFERENCE_ENGINE_H_
#define FEDGE_INFERENCE_ENGINE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/signing.h"
#include "inference/graph_plan.h"
#include "inference/load_limits.h"
#include "inference/optimized_kernels.h"
#include "inference/quantization.h"
#include "proto/fedge.pb.h"

namespace fedge {

// Which kernels compute CONV2D and LINEAR. Both produce identical outputs.
enum class KernelSet {
  kReference,  // plain loops: the definition of the arithmetic
  kOptimized,  // im2col + packed int16 GEMM (optimized_kernels.h)
};

struct EngineOptions {
  KernelSet kernels = KernelSet::kOptimized;
  // Memory and work a graph may cost; over them Load fails before allocating.
  LoadLimits limits;
};

class InferenceEngine {
 public:
  // Verifies, validates and prepares an int8 artifact.
  // Returns kPermissionDenied if the artifact is unsigned, tampered with or
  // signed by another key; kInvalidArgument if the bytes do not parse, the
  // artifact is not INT8, or the graph is inconsistent (the message names the
  // op index and the problem); kResourceExhausted if running the graph would
  // exceed options.limits (the message names the limit).
  static absl::StatusOr<std::unique_ptr<InferenceEngine>> Load(std::string_view artifact_bytes,
                                                               const VerifyKey& pinned_key,
                                                               const EngineOptions& options);

  // `Load` without the signature check, for a body whose origin the caller
  // has established itself (Load is OpenArtifact followed by this; the int8
  // graph fuzzer calls it to reach the graph code without signing every
  // input). Everything else is checked as in Load: tensor sizes
  // (ValidateArtifactBody), dtype INT8, the graph. kInvalidArgument as Load.
  static absl::StatusOr<std::unique_ptr<InferenceEngine>> LoadBody(const proto::ArtifactBody& body,
                                                                   const EngineOptions& options);

  InferenceEngine(const InferenceEngine&) = delete;
  InferenceEngine& operator=(const InferenceEngine&) = delete;

  // Classifies one example. `input` is C*H*W floats in [C, H, W] order,
  // already normalised the way the model was trained; `probabilities_out`
  // must hold num_classes() values; `argmax` may be null. Ties in the int8
  // logits go to the lowest class index.
  // kInvalidArgument on a size mismatch or a non-finite input value;
  // kFailedPrecondition if the model's output quantisation makes the
  // probabilities non-finite (nothing valid is written then).
  absl::Status Classify(absl::Span<const float> input, absl::Span<float> probabilities_out, int* argmax);

  // Classifies argmax_out.size() examples stored back to back in `inputs`;
  // `probabilities_out` holds num_classes() values per example.
  // kInvalidArgument on size mismatches or non-finite input values,
  // kFailedPrecondition on non-finite probabilities, as Classify.
  absl::Status ClassifyBatch(absl::Span<const float> inputs, absl::Span<float> probabilities_out,
                             absl::Span<int> argmax_out);

  // Runs the integer graph on an already quantised input (input_size()
  // values, quantised with input_quant()) and writes the int8 logits
  // (num_classes() values, quantised with output_quant()).
  // kInvalidArgument on a size mismatch.
  absl::Status RunQuantized(absl::Span<const int8_t> input, absl::Span<int8_t> logits_out);

  // Quantises a float input with input_quant(). kInvalidArgument on a size
  // mismatch or a non-finite value.
  absl::Status QuantizeInput(absl::Span<const float> input, absl::Span<int8_t> out) const;

  const proto::ArtifactHeader& header() const { return header_; }
  std::array<int, 3> input_shape() const { return {plan_.input.c, plan_.input.h, plan_.input.w}; }
  int64_t input_size() const { return plan_.input.size(); }
  int num_classes() const { return plan_.num_classes; }
  ActivationQuant input_quant() const { return plan_.input_q; }
  ActivationQuant output_quant() const { return plan_.ops.back().out_q; }
  KernelSet kernels() const { return kernels_; }
  // What the graph costs, as checked against EngineOptions::limits at load.
  const GraphCost& cost() const { return cost_; }
  // Bytes of activation and scratch memory reserved at load time.
  size_t arena_bytes() const { return arena_.size() + scratch_.size() * sizeof(int16_t); }

 private:
  InferenceEngine(proto::ArtifactHeader header, Int8Plan plan, KernelSet kernels, GraphCost cost);

  // Runs all ops on the quantised input already in the arena; returns the
  // int8 logits (inside the arena).
  const int8_t* Run();
  void RunOp(const PlannedOp& op, const int8_t* in, int8_t* out);
  absl::StatusOr<int> ClassifyLogits(const int8_t* logits, absl::Span<float> probabilities_out) const;

  proto::ArtifactHeader header_;
  Int8Plan plan_;
  KernelSet kernels_;
  GraphCost cost_;
  KernelIsa isa_ = KernelIsa::kPortable;  // variant of the optimised kernels, fixed at load
  std::vector<int8_t> arena_;     // two halves of plan_.max_activation each
  std::vector<int16_t> scratch_;  // im2col rows for the optimised kernels
};

}  // namespace fedge

#endif  // FEDGE_INFERENCE_ENGINE_H_
