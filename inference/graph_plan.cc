#include "inference/graph_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

// Upper bound on one activation (elements), far above any edge model, so
// that sizes stay well inside int32/int64 arithmetic.
constexpr int64_t kMaxActivation = int64_t{1} << 26;

// Activation scales outside [1e-30, 1e30] are no calibration's result, and
// the upper bound keeps every dequantised value and every difference of two
// (at most 255 * scale) finite in float, so the softmax stays finite.
constexpr float kMinActivationScale = 1e-30f;
constexpr float kMaxActivationScale = 1e30f;

using TensorIndex = absl::flat_hash_map<std::string, const proto::TensorProto*>;

absl::Status OpError(int index, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("int8 graph: op ", index, ": ", what));
}

absl::Status CheckQuant(const proto::QuantParams& q, absl::string_view what) {
  if (!std::isfinite(q.scale()) || !(q.scale() > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " scale ", q.scale(), " must be finite and > 0"));
  }
  if (q.scale() < kMinActivationScale || q.scale() > kMaxActivationScale) {
    return absl::InvalidArgumentError(absl::StrCat(what, " scale ", q.scale(), " is outside [",
                                                   kMinActivationScale, ", ", kMaxActivationScale, "]"));
  }
  if (q.zero_point() < kInt8Min || q.zero_point() > kInt8Max) {
    return absl::InvalidArgumentError(absl::StrCat(what, " zero point ", q.zero_point(), " is outside [-128, 127]"));
  }
  return absl::OkStatus();
}

std::string KindName(proto::Int8Op::Kind kind) {
  std::string name = proto::Int8Op::Kind_Name(kind);
  return name.empty() ? absl::StrCat("kind ", static_cast<int>(kind)) : name;
}

// Reads an optional [h, w] pair: empty gives `fallback`.
absl::Status ReadPair(const google::protobuf::RepeatedField<int32_t>& field, absl::string_view name, int fallback_h,
                      int fallback_w, int* h, int* w) {
  if (field.empty()) {
    *h = fallback_h;
    *w = fallback_w;
    return absl::OkStatus();
  }
  if (field.size() != 2) return absl::InvalidArgumentError(absl::StrCat(name, " must have 2 values, has ", field.size()));
  *h = field[0];
  *w = field[1];
  return absl::OkStatus();
}

// Reads kernel/stride/padding and derives the output's spatial size.
absl::Status PlanWindow(const proto::Int8Op& op, bool is_pool, PlannedOp& p) {
  if (is_pool) {
    if (op.kernel_size() != 2) return absl::InvalidArgumentError("pooling needs kernel [kh, kw]");
    p.kernel_h = op.kernel(0);
    p.kernel_w = op.kernel(1);
  }
  if (p.kernel_h <= 0 || p.kernel_w <= 0) return absl::InvalidArgumentError("kernel sizes must be > 0");
  FEDGE_RETURN_IF_ERROR(ReadPair(op.stride(), "stride", is_pool ? p.kernel_h : 1, is_pool ? p.kernel_w : 1,
                                 &p.stride_h, &p.stride_w));
  FEDGE_RETURN_IF_ERROR(ReadPair(op.padding(), "padding", 0, 0, &p.pad_h, &p.pad_w));
  if (p.stride_h <= 0 || p.stride_w <= 0) return absl::InvalidArgumentError("stride must be > 0");
  // Pooling windows must always hold a real cell (PyTorch's rule); conv
  // padding beyond the kernel would only produce all-padding windows.
  const int max_pad_h = is_pool ? p.kernel_h / 2 : p.kernel_h - 1;
  const int max_pad_w = is_pool ? p.kernel_w / 2 : p.kernel_w - 1;
  if (p.pad_h < 0 || p.pad_w < 0 || p.pad_h > max_pad_h || p.pad_w > max_pad_w) {
    return absl::InvalidArgumentError(absl::StrCat("padding [", p.pad_h, ", ", p.pad_w, "] is outside [0, ",
                                                    max_pad_h, "] x [0, ", max_pad_w, "] for kernel [", p.kernel_h,
                                                    ", ", p.kernel_w, "]"));
  }
  const int64_t span_h = int64_t{p.in.h} + 2 * p.pad_h - p.kernel_h;
  const int64_t span_w = int64_t{p.in.w} + 2 * p.pad_w - p.kernel_w;
  if (span_h < 0 || span_w < 0) {
    return absl::InvalidArgumentError(absl::StrCat("kernel [", p.kernel_h, ", ", p.kernel_w, "] does not fit input [",
                                                   p.in.h, ", ", p.in.w, "] with its padding"));
  }
  p.out.h = static_cast<int>(span_h / p.stride_h + 1);
  p.out.w = static_cast<int>(span_w / p.stride_w + 1);
  return absl::OkStatus();
}

absl::StatusOr<const proto::TensorProto*> FindTensor(const TensorIndex& tensors, const std::string& name,
                                                     proto::DType dtype, absl::string_view role) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", role, " tensor named"));
  auto it = tensors.find(name);
  if (it == tensors.end()) return absl::InvalidArgumentError(absl::StrCat(role, " tensor '", name, "' is missing"));
  if (it->second->dtype() != dtype) {
    return absl::InvalidArgumentError(absl::StrCat(role, " tensor '", name, "' has dtype ",
                                                   proto::DType_Name(it->second->dtype()), ", expected ",
                                                   proto::DType_Name(dtype)));
  }
  return it->second;
}

// Loads weights, bias and scales of CONV2D/LINEAR and derives multipliers.
absl::Status PlanWeights(const proto::Int8Op& op, const TensorIndex& tensors, PlannedOp& p) {
  FEDGE_ASSIGN_OR_RETURN(const proto::TensorProto* w, FindTensor(tensors, op.weights(), proto::DTYPE_INT8, "weights"));
  FEDGE_ASSIGN_OR_RETURN(const proto::TensorProto* b, FindTensor(tensors, op.bias(), proto::DTYPE_INT32, "bias"));
  const bool conv = p.kind == OpKind::kConv2d;
  const int rank = conv ? 4 : 2;
  if (w->shape_size() != rank) {
    return absl::InvalidArgumentError(absl::StrCat("weights '", w->name(), "' must have rank ", rank));
  }
  const int64_t in_dim = w->shape(1);
  if (in_dim != p.in.c) {
    return absl::InvalidArgumentError(absl::StrCat("weights '", w->name(), "' expect ", in_dim,
                                                   conv ? " input channels" : " input features", ", input has ",
                                                   p.in.c));
  }
  p.out_channels = static_cast<int>(w->shape(0));
  p.depth = static_cast<int>(w->data().size() / static_cast<size_t>(p.out_channels));
  if (b->shape_size() != 1 || b->shape(0) != p.out_channels) {
    return absl::InvalidArgumentError(absl::StrCat("bias '", b->name(), "' must have shape [", p.out_channels, "]"));
  }
  if (op.weight_scales_size() != p.out_channels) {
    return absl::InvalidArgumentError(
        absl::StrCat("has ", op.weight_scales_size(), " weight scales for ", p.out_channels, " output channels"));
  }
  p.weights.resize(w->data().size());
  std::memcpy(p.weights.data(), w->data().data(), w->data().size());
  p.bias.resize(static_cast<size_t>(p.out_channels));
  std::memcpy(p.bias.data(), b->data().data(), b->data().size());
  // Worst case of |sum (x - zp) * w + bias| and of the optimised split
  // (sum x*w, bias - zp*rowsum) must stay inside int32.
  int64_t max_bias = 0;
  for (int32_t v : p.bias) max_bias = std::max<int64_t>(max_bias, std::abs(int64_t{v}));
  if (max_bias + int64_t{p.depth} * 2 * 128 * 128 > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("depth ", p.depth, " with bias magnitude ", max_bias,
                                                   " could overflow the int32 accumulator"));
  }
  for (int c = 0; c < p.out_channels; ++c) {
    const float ws = op.weight_scales(c);
    if (!std::isfinite(ws) || !(ws > 0)) {
      return absl::InvalidArgumentError(absl::StrCat("weight scale ", c, " is ", ws, ", must be finite and > 0"));
    }
    const double real = static_cast<double>(p.in_q.scale) * ws / p.out_q.scale;
    FEDGE_ASSIGN_OR_RETURN(QuantizedMultiplier m, QuantizeMultiplier(real));
    p.multipliers.push_back(m);
  }
  return absl::OkStatus();
}

absl::Status PlanConv(const proto::Int8Op& op, const TensorIndex& tensors, PlannedOp& p) {
  if (p.in.flat) return absl::InvalidArgumentError("CONV2D needs a [C, H, W] input, got a flat one");
  FEDGE_ASSIGN_OR_RETURN(const proto::TensorProto* w, FindTensor(tensors, op.weights(), proto::DTYPE_INT8, "weights"));
  if (w->shape_size() != 4) return absl::InvalidArgumentError(absl::StrCat("weights '", w->name(), "' must have rank 4"));
  p.kernel_h = static_cast<int>(w->shape(2));
  p.kernel_w = static_cast<int>(w->shape(3));
  if (!op.kernel().empty() && (op.kernel_size() != 2 || op.kernel(0) != p.kernel_h || op.kernel(1) != p.kernel_w)) {
    return absl::InvalidArgumentError("kernel field disagrees with the weights' [KH, KW]");
  }
  FEDGE_RETURN_IF_ERROR(PlanWindow(op, /*is_pool=*/false, p));
  FEDGE_RETURN_IF_ERROR(PlanWeights(op, tensors, p));
  p.out.c = p.out_channels;
  return absl::OkStatus();
}

absl::Status PlanLinear(const proto::Int8Op& op, const TensorIndex& tensors, PlannedOp& p) {
  if (!p.in.flat) return absl::InvalidArgumentError("LINEAR needs a flat input: insert FLATTEN before it");
  FEDGE_RETURN_IF_ERROR(PlanWeights(op, tensors, p));
  p.out = ActShape{p.out_channels, 1, 1, true};
  return absl::OkStatus();
}

absl::Status PlanPool(const proto::Int8Op& op, PlannedOp& p) {
  if (p.in.flat) return absl::InvalidArgumentError("pooling needs a [C, H, W] input, got a flat one");
  FEDGE_RETURN_IF_ERROR(PlanWindow(op, /*is_pool=*/true, p));
  if (p.kind == OpKind::kAvgPool2d) {
    const double real = static_cast<double>(p.in_q.scale) / (static_cast<double>(p.out_q.scale) * p.kernel_h * p.kernel_w);
    FEDGE_ASSIGN_OR_RETURN(QuantizedMultiplier m, QuantizeMultiplier(real));
    p.multipliers.push_back(m);
  }
  return absl::OkStatus();
}

// Output params: required for CONV2D/LINEAR/AVG_POOL2D (AVG_POOL2D may omit
// them to keep the input's); ops that move values unchanged must keep them.
absl::Status PlanOutputQuant(const proto::Int8Op& op, PlannedOp& p) {
  const bool requantises = p.kind == OpKind::kConv2d || p.kind == OpKind::kLinear;
  if (!op.has_output()) {
    if (requantises) return absl::InvalidArgumentError("output quantisation parameters are missing");
    p.out_q = p.in_q;
    return absl::OkStatus();
  }
  FEDGE_RETURN_IF_ERROR(CheckQuant(op.output(), "output"));
  p.out_q = ActivationQuant{op.output().scale(), op.output().zero_point()};
  const bool keeps_params = !requantises && p.kind != OpKind::kAvgPool2d;
  if (keeps_params && (p.out_q.scale != p.in_q.scale || p.out_q.zero_point != p.in_q.zero_point)) {
    return absl::InvalidArgumentError(absl::StrCat(KindName(op.kind()), " cannot change quantisation parameters"));
  }
  return absl::OkStatus();
}

absl::StatusOr<PlannedOp> PlanOp(const proto::Int8Op& op, const TensorIndex& tensors, const ActShape& in,
                                 ActivationQuant in_q) {
  PlannedOp p;
  p.in = in;
  p.out = in;
  p.in_q = in_q;
  switch (op.kind()) {
    case proto::Int8Op::CONV2D: p.kind = OpKind::kConv2d; break;
    case proto::Int8Op::LINEAR: p.kind = OpKind::kLinear; break;
    case proto::Int8Op::RELU: p.kind = OpKind::kRelu; break;
    case proto::Int8Op::MAX_POOL2D: p.kind = OpKind::kMaxPool2d; break;
    case proto::Int8Op::AVG_POOL2D: p.kind = OpKind::kAvgPool2d; break;
    case proto::Int8Op::FLATTEN: p.kind = OpKind::kFlatten; break;
    default: return absl::InvalidArgumentError(absl::StrCat("unknown op kind ", static_cast<int>(op.kind())));
  }
  FEDGE_RETURN_IF_ERROR(PlanOutputQuant(op, p));
  switch (p.kind) {
    case OpKind::kConv2d: FEDGE_RETURN_IF_ERROR(PlanConv(op, tensors, p)); break;
    case OpKind::kLinear: FEDGE_RETURN_IF_ERROR(PlanLinear(op, tensors, p)); break;
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d: FEDGE_RETURN_IF_ERROR(PlanPool(op, p)); break;
    case OpKind::kFlatten:
      if (in.flat) return absl::InvalidArgumentError("FLATTEN of an already flat input");
      p.out = ActShape{static_cast<int>(in.size()), 1, 1, true};
      break;
    case OpKind::kRelu: break;
  }
  const bool fused_ok = p.kind == OpKind::kConv2d || p.kind == OpKind::kLinear;
  if (op.fused_relu() && !fused_ok) return absl::InvalidArgumentError("fused_relu is only allowed on CONV2D / LINEAR");
  if (op.fused_relu() || p.kind == OpKind::kRelu) p.act_min = std::max(p.out_q.zero_point, kInt8Min);
  if (p.out.size() <= 0 || p.out.size() > kMaxActivation) {
    return absl::InvalidArgumentError(absl::StrCat("output has ", p.out.size(), " elements"));
  }
  return p;
}

absl::Status PlanInput(const proto::Int8Graph& graph, Int8Plan& plan) {
  if (graph.format_version() != kInt8GraphFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("int8 graph: format_version ", graph.format_version(),
                                                   " is not supported (expected ", kInt8GraphFormatVersion, ")"));
  }
  if (graph.input_shape_size() != 3) return absl::InvalidArgumentError("int8 graph: input_shape must be [C, H, W]");
  for (int64_t d : graph.input_shape()) {
    if (d <= 0 || d > kMaxActivation) {
      return absl::InvalidArgumentError(absl::StrCat("int8 graph: input dimension ", d, " is out of range"));
    }
  }
  plan.input = ActShape{static_cast<int>(graph.input_shape(0)), static_cast<int>(graph.input_shape(1)),
                        static_cast<int>(graph.input_shape(2)), false};
  if (plan.input.size() > kMaxActivation) return absl::InvalidArgumentError("int8 graph: input is too large");
  if (!graph.has_input()) return absl::InvalidArgumentError("int8 graph: input quantisation parameters are missing");
  FEDGE_RETURN_IF_ERROR(CheckQuant(graph.input(), "int8 graph: input"));
  plan.input_q = ActivationQuant{graph.input().scale(), graph.input().zero_point()};
  if (graph.num_classes() <= 0) return absl::InvalidArgumentError("int8 graph: num_classes must be > 0");
  plan.num_classes = graph.num_classes();
  if (graph.ops().empty()) return absl::InvalidArgumentError("int8 graph: has no ops");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Int8Plan> PlanInt8Graph(const proto::ArtifactBody& body) {
  if (!body.has_int8_graph()) return absl::InvalidArgumentError("artifact has no int8_graph");
  const proto::Int8Graph& graph = body.int8_graph();
  Int8Plan plan;
  FEDGE_RETURN_IF_ERROR(PlanInput(graph, plan));
  TensorIndex tensors;
  for (const proto::TensorProto& t : body.tensors()) tensors[t.name()] = &t;
  ActShape shape = plan.input;
  ActivationQuant quant = plan.input_q;
  plan.max_activation = shape.size();
  for (int i = 0; i < graph.ops_size(); ++i) {
    absl::StatusOr<PlannedOp> op = PlanOp(graph.ops(i), tensors, shape, quant);
    if (!op.ok()) {
      return OpError(i, absl::StrCat(KindName(graph.ops(i).kind()), ": ", op.status().message()));
    }
    shape = op->out;
    quant = op->out_q;
    plan.max_activation = std::max(plan.max_activation, shape.size());
    plan.ops.push_back(*std::move(op));
  }
  if (!shape.flat || shape.c != plan.num_classes) {
    return absl::InvalidArgumentError(absl::StrCat("int8 graph: the last op outputs ", shape.size(),
                                                   shape.flat ? " flat values" : " values of rank 3",
                                                   ", expected flat logits of num_classes = ", plan.num_classes));
  }
  return plan;
}

}  // namespace fedge
