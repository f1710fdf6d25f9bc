#include "inference/engine.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/artifact.h"
#include "core/status.h"
#include "inference/optimized_kernels.h"
#include "inference/reference_kernels.h"

namespace fedge {
namespace {

absl::Status SizeError(absl::string_view what, size_t got, int64_t want) {
  return absl::InvalidArgumentError(absl::StrCat(what, " has ", got, " values, the model needs ", want));
}

}  // namespace

absl::StatusOr<std::unique_ptr<InferenceEngine>> InferenceEngine::Load(std::string_view artifact_bytes,
                                                                       const VerifyKey& pinned_key,
                                                                       const EngineOptions& options) {
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, OpenArtifact(artifact_bytes, pinned_key));
  return LoadBody(body, options);
}

absl::StatusOr<std::unique_ptr<InferenceEngine>> InferenceEngine::LoadBody(const proto::ArtifactBody& body,
                                                                           const EngineOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateArtifactBody(body));
  if (body.header().dtype() != proto::DTYPE_INT8) {
    return absl::InvalidArgumentError(absl::StrCat("artifact dtype is ", proto::DType_Name(body.header().dtype()),
                                                   ": the inference engine runs INT8 models only"));
  }
  FEDGE_ASSIGN_OR_RETURN(Int8Plan plan, PlanInt8Graph(body));
  // Bounded before the constructor packs weights and reserves the arena.
  FEDGE_ASSIGN_OR_RETURN(GraphCost cost, ComputeGraphCost(plan, options.kernels == KernelSet::kOptimized));
  FEDGE_RETURN_IF_ERROR(CheckGraphCost(cost, options.limits));
  return std::unique_ptr<InferenceEngine>(
      new InferenceEngine(body.header(), std::move(plan), options.kernels, cost));
}

InferenceEngine::InferenceEngine(proto::ArtifactHeader header, Int8Plan plan, KernelSet kernels, GraphCost cost)
    : header_(std::move(header)), plan_(std::move(plan)), kernels_(kernels), cost_(cost) {
  size_t scratch = 0;
  if (kernels_ == KernelSet::kOptimized) {
    isa_ = DetectKernelIsa();
    for (PlannedOp& op : plan_.ops) {
      if (op.kind != OpKind::kConv2d && op.kind != OpKind::kLinear) continue;
      PackWeights(op);
      // The packed copy replaces the int8 weights for the rest of the run.
      std::vector<int8_t>().swap(op.weights);
      scratch = std::max(scratch, OptimizedScratchSize(op));
    }
  }
  arena_.resize(2 * static_cast<size_t>(plan_.max_activation));
  scratch_.resize(scratch);
}

void InferenceEngine::RunOp(const PlannedOp& op, const int8_t* in, int8_t* out) {
  const bool optimized = kernels_ == KernelSet::kOptimized;
  switch (op.kind) {
    case OpKind::kConv2d:
      optimized ? OptimizedConv2d(op, isa_, in, out, scratch_.data()) : ReferenceConv2d(op, in, out);
      break;
    case OpKind::kLinear:
      optimized ? OptimizedLinear(op, isa_, in, out, scratch_.data()) : ReferenceLinear(op, in, out);
      break;
    case OpKind::kMaxPool2d: optimized ? OptimizedMaxPool2d(op, isa_, in, out) : MaxPool2d(op, in, out); break;
    case OpKind::kAvgPool2d: AvgPool2d(op, in, out); break;
    case OpKind::kRelu: Relu(op, in, out); break;
    case OpKind::kFlatten: break;
  }
}

const int8_t* InferenceEngine::Run() {
  int8_t* current = arena_.data();
  int8_t* other = arena_.data() + plan_.max_activation;
  for (const PlannedOp& op : plan_.ops) {
    // ReLU works in place and FLATTEN only reinterprets [C, H, W] as flat:
    // neither needs the other half of the arena.
    if (op.kind == OpKind::kRelu || op.kind == OpKind::kFlatten) {
      RunOp(op, current, current);
      continue;
    }
    RunOp(op, current, other);
    std::swap(current, other);
  }
  return current;
}

absl::Status InferenceEngine::QuantizeInput(absl::Span<const float> input, absl::Span<int8_t> out) const {
  if (static_cast<int64_t>(input.size()) != input_size()) return SizeError("input", input.size(), input_size());
  if (static_cast<int64_t>(out.size()) != input_size()) return SizeError("quantised input", out.size(), input_size());
  for (size_t i = 0; i < input.size(); ++i) {
    if (!std::isfinite(input[i])) {
      return absl::InvalidArgumentError(absl::StrCat("input value ", i, " is not finite"));
    }
  }
  OptimizedQuantizeInput(isa_, input.data(), input.size(), plan_.input_q, out.data());
  return absl::OkStatus();
}

absl::Status InferenceEngine::RunQuantized(absl::Span<const int8_t> input, absl::Span<int8_t> logits_out) {
  if (static_cast<int64_t>(input.size()) != input_size()) return SizeError("input", input.size(), input_size());
  if (logits_out.size() != static_cast<size_t>(num_classes())) {
    return SizeError("logits output", logits_out.size(), num_classes());
  }
  std::copy(input.begin(), input.end(), arena_.begin());
  const int8_t* logits = Run();
  std::copy(logits, logits + num_classes(), logits_out.begin());
  return absl::OkStatus();
}

absl::StatusOr<int> InferenceEngine::ClassifyLogits(const int8_t* logits,
                                                    absl::Span<float> probabilities_out) const {
  // Softmax is the one float step: it runs on dequantised logits, where
  // subtracting the maximum keeps exp() in range.
  const ActivationQuant q = output_quant();
  const int n = num_classes();
  const int best = static_cast<int>(std::max_element(logits, logits + n) - logits);
  const float max_logit = DequantizeValue(logits[best], q);
  float total = 0;
  for (int i = 0; i < n; ++i) {
    probabilities_out[i] = std::exp(DequantizeValue(logits[i], q) - max_logit);
    total += probabilities_out[i];
  }
  // Load bounds the output scale so this holds for every served model; the
  // check keeps a non-finite answer from ever leaving with an OK status.
  if (!std::isfinite(total) || !(total > 0)) {
    return absl::FailedPreconditionError(absl::StrCat("the model's output scale ", q.scale,
                                                      " makes the softmax non-finite"));
  }
  for (int i = 0; i < n; ++i) probabilities_out[i] /= total;
  return best;
}

absl::Status InferenceEngine::Classify(absl::Span<const float> input, absl::Span<float> probabilities_out,
                                       int* argmax) {
  if (probabilities_out.size() != static_cast<size_t>(num_classes())) {
    return SizeError("probabilities output", probabilities_out.size(), num_classes());
  }
  FEDGE_RETURN_IF_ERROR(QuantizeInput(input, absl::MakeSpan(arena_.data(), static_cast<size_t>(input_size()))));
  FEDGE_ASSIGN_OR_RETURN(const int best, ClassifyLogits(Run(), probabilities_out));
  if (argmax != nullptr) *argmax = best;
  return absl::OkStatus();
}

absl::Status InferenceEngine::ClassifyBatch(absl::Span<const float> inputs, absl::Span<float> probabilities_out,
                                            absl::Span<int> argmax_out) {
  const size_t batch = argmax_out.size();
  const size_t in_size = static_cast<size_t>(input_size());
  const size_t classes = static_cast<size_t>(num_classes());
  if (inputs.size() != batch * in_size) return SizeError("batch input", inputs.size(), batch * in_size);
  if (probabilities_out.size() != batch * classes) {
    return SizeError("batch probabilities output", probabilities_out.size(), batch * classes);
  }
  for (size_t b = 0; b < batch; ++b) {
    FEDGE_RETURN_IF_ERROR(Classify(inputs.subspan(b * in_size, in_size),
                                   probabilities_out.subspan(b * classes, classes), &argmax_out[b]));
  }
  return absl::OkStatus();
}

}  // namespace fedge
