// File: inference/graph_plan.h
//
// The validated, load-time form of an Int8Graph (proto/int8_model.proto).
// `PlanInt8Graph` is the runtime's trust boundary for model structure: it
// checks every op once (kinds, referenced tensors, dtypes, shapes along the
// chain, kernel/stride/padding, scales, zero points, accumulator headroom)
// and precomputes what the kernels need (shapes, fixed-point multipliers,
// clamp bounds), so kernels run without checks.
//
// Internal to fedge::inference; the public entry point is engine.h.
// Thread-safety: a plan is immutable after creation and safe to share.
#ifndef FEDGE_INFERENCE_GRAPH_PLAN_H_
#define FEDGE_INFERENCE_GRAPH_PLAN_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "inference/quantization.h"
#include "proto/fedge.pb.h"

namespace fedge {

inline constexpr uint32_t kInt8GraphFormatVersion = 1;

// Shape of one example's activation: [c, h, w], or [c] when `flat`.
struct ActShape {
  int c = 0;
  int h = 1;
  int w = 1;
  bool flat = false;
  int64_t size() const { return int64_t{c} * h * w; }
};

enum class OpKind { kConv2d, kLinear, kRelu, kMaxPool2d, kAvgPool2d, kFlatten };

// Weights repacked for the optimised kernels (optimized_kernels.h).
struct PackedWeights {
  int depth_padded = 0;            // depth rounded up to the vector block
  std::vector<int16_t> values;     // [out_channels][depth_padded], zero-filled tail
  std::vector<int8_t> values_s8;   // the same as int8; only where KernelIsa::kNeonDot is supported
  std::vector<int32_t> bias_with_zp;  // bias[c] - input_zero_point * sum_k w[c, k]
};

struct PlannedOp {
  OpKind kind = OpKind::kRelu;
  ActShape in;
  ActShape out;
  ActivationQuant in_q;
  ActivationQuant out_q;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  // CONV2D / LINEAR: weights [out_channels][depth], depth = IC*KH*KW or IN.
  int out_channels = 0;
  int depth = 0;
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  // Per output channel for CONV2D / LINEAR, one entry for AVG_POOL2D.
  std::vector<QuantizedMultiplier> multipliers;
  // Output clamp in the quantised domain (fused ReLU raises act_min).
  int32_t act_min = kInt8Min;
  int32_t act_max = kInt8Max;
  PackedWeights packed;  // filled only when the optimised kernels are selected
};

struct Int8Plan {
  ActShape input;
  ActivationQuant input_q;
  int num_classes = 0;
  std::vector<PlannedOp> ops;
  int64_t max_activation = 0;  // largest activation of one example, in elements
};

// Validates `body` (already signature-checked and tensor-size-checked by
// OpenArtifact) and builds the plan. kInvalidArgument naming the op index and
// the problem for any inconsistency.
absl::StatusOr<Int8Plan> PlanInt8Graph(const proto::ArtifactBody& body);

// Adds the zero point, clamps and narrows a requantised accumulator.
inline int8_t RequantizeToInt8(int32_t acc, QuantizedMultiplier m, int32_t zero_point, int32_t lo, int32_t hi) {
  int32_t v = MultiplyByQuantizedMultiplier(acc, m) + zero_point;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  return static_cast<int8_t>(v);
}

}  // namespace fedge

#endif  // FEDGE_INFERENCE_GRAPH_PLAN_H_
