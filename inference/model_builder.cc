#include "inference/model_builder.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "inference/graph_plan.h"

namespace fedge {
namespace {

bool KeepsInputParams(proto::Int8Op::Kind kind) {
  return kind == proto::Int8Op::RELU || kind == proto::Int8Op::MAX_POOL2D || kind == proto::Int8Op::FLATTEN;
}

void SetQuant(ActivationQuant q, proto::QuantParams* out) {
  out->set_scale(q.scale);
  out->set_zero_point(q.zero_point);
}

template <typename T>
void AddTensor(std::string name, std::vector<int64_t> shape, proto::DType dtype, const std::vector<T>& values,
               proto::ArtifactBody& body) {
  proto::TensorProto* t = body.add_tensors();
  t->set_name(std::move(name));
  for (int64_t d : shape) t->add_shape(d);
  t->set_dtype(dtype);
  t->set_data(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// Quantises one CONV2D / LINEAR layer's tensors and fills its op.
absl::Status AddWeightedOp(const FloatLayer& l, size_t index, ActivationQuant in_q, proto::Int8Op& op,
                           proto::ArtifactBody& body) {
  FEDGE_ASSIGN_OR_RETURN(PerChannelWeights w, QuantizeWeightsPerChannel(l.weights, l.out_channels));
  FEDGE_ASSIGN_OR_RETURN(std::vector<int32_t> bias, QuantizeBias(l.bias, in_q.scale, w.scales));
  std::vector<int64_t> shape = {l.out_channels, l.in.c};
  if (l.kind == proto::Int8Op::CONV2D) {
    shape.push_back(l.kernel);
    shape.push_back(l.kernel);
  }
  const std::string prefix = absl::StrCat("op", index);
  op.set_weights(prefix + ".weight");
  op.set_bias(prefix + ".bias");
  AddTensor(op.weights(), shape, proto::DTYPE_INT8, w.values, body);
  AddTensor(op.bias(), {l.out_channels}, proto::DTYPE_INT32, bias, body);
  for (float s : w.scales) op.add_weight_scales(s);
  op.set_fused_relu(l.fused_relu);
  return absl::OkStatus();
}

FloatLayer MakeLayer(proto::Int8Op::Kind kind, int out_channels = 0, int kernel = 1, int stride = 1, int padding = 0,
                     bool fused_relu = false, std::vector<float> weights = {}, std::vector<float> bias = {}) {
  FloatLayer layer;
  layer.kind = kind;
  layer.out_channels = out_channels;
  layer.kernel = kernel;
  layer.stride = stride;
  layer.padding = padding;
  layer.fused_relu = fused_relu;
  layer.weights = std::move(weights);
  layer.bias = std::move(bias);
  return layer;
}

}  // namespace

Int8ModelBuilder::Int8ModelBuilder(int channels, int height, int width) {
  model_.input = ActShape{channels, height, width, false};
  if (channels <= 0 || height <= 0 || width <= 0) {
    status_ = absl::InvalidArgumentError("builder: input dimensions must be > 0");
  }
}

Int8ModelBuilder& Int8ModelBuilder::Add(FloatLayer layer) {
  if (status_.ok()) status_ = AppendLayer(model_, std::move(layer));
  return *this;
}

Int8ModelBuilder& Int8ModelBuilder::Conv2d(int out_channels, int kernel, int stride, int padding,
                                           std::vector<float> weights, std::vector<float> bias, bool fused_relu) {
  return Add(MakeLayer(proto::Int8Op::CONV2D, out_channels, kernel, stride, padding, fused_relu, std::move(weights),
                       std::move(bias)));
}

Int8ModelBuilder& Int8ModelBuilder::Linear(int out_features, std::vector<float> weights, std::vector<float> bias,
                                           bool fused_relu) {
  return Add(MakeLayer(proto::Int8Op::LINEAR, out_features, 1, 1, 0, fused_relu, std::move(weights), std::move(bias)));
}

Int8ModelBuilder& Int8ModelBuilder::Relu() { return Add(MakeLayer(proto::Int8Op::RELU)); }

Int8ModelBuilder& Int8ModelBuilder::MaxPool2d(int kernel, int stride, int padding) {
  return Add(MakeLayer(proto::Int8Op::MAX_POOL2D, 0, kernel, stride, padding));
}

Int8ModelBuilder& Int8ModelBuilder::AvgPool2d(int kernel, int stride, int padding) {
  return Add(MakeLayer(proto::Int8Op::AVG_POOL2D, 0, kernel, stride, padding));
}

Int8ModelBuilder& Int8ModelBuilder::Flatten() { return Add(MakeLayer(proto::Int8Op::FLATTEN)); }

absl::StatusOr<Int8Calibration> Int8ModelBuilder::Calibrate(absl::Span<const float> samples) const {
  FEDGE_RETURN_IF_ERROR(status_);
  const size_t in_size = static_cast<size_t>(model_.input.size());
  if (samples.empty() || samples.size() % in_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("builder: ", samples.size(), " calibration values are not whole examples of ", in_size));
  }
  ActRange input_range{samples[0], samples[0]};
  for (float v : samples) input_range = {std::min(input_range.min, v), std::max(input_range.max, v)};
  std::vector<ActRange> ranges;
  for (size_t off = 0; off < samples.size(); off += in_size) {
    FEDGE_RETURN_IF_ERROR(RunFloatModel(model_, samples.subspan(off, in_size), &ranges).status());
  }
  Int8Calibration cal;
  FEDGE_ASSIGN_OR_RETURN(cal.input, ChooseActivationQuant(input_range.min, input_range.max));
  ActivationQuant previous = cal.input;
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    if (KeepsInputParams(model_.layers[i].kind)) {
      cal.outputs.push_back(previous);
    } else {
      FEDGE_ASSIGN_OR_RETURN(ActivationQuant q, ChooseActivationQuant(ranges[i].min, ranges[i].max));
      cal.outputs.push_back(q);
    }
    previous = cal.outputs.back();
  }
  return cal;
}

absl::StatusOr<proto::ArtifactBody> Int8ModelBuilder::Build(const Int8Calibration& calibration,
                                                            proto::ArtifactHeader header) const {
  FEDGE_RETURN_IF_ERROR(status_);
  if (calibration.outputs.size() != model_.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("builder: calibration has ", calibration.outputs.size(),
                                                   " layers, the model ", model_.layers.size()));
  }
  if (!model_.output().flat) return absl::InvalidArgumentError("builder: the model must end with flat logits");
  proto::ArtifactBody body;
  header.set_dtype(proto::DTYPE_INT8);
  *body.mutable_header() = std::move(header);
  proto::Int8Graph& graph = *body.mutable_int8_graph();
  graph.set_format_version(kInt8GraphFormatVersion);
  for (int d : {model_.input.c, model_.input.h, model_.input.w}) graph.add_input_shape(d);
  SetQuant(calibration.input, graph.mutable_input());
  graph.set_num_classes(model_.output().c);
  ActivationQuant in_q = calibration.input;
  for (size_t i = 0; i < model_.layers.size(); ++i) {
    const FloatLayer& l = model_.layers[i];
    proto::Int8Op& op = *graph.add_ops();
    op.set_kind(l.kind);
    const ActivationQuant out_q = KeepsInputParams(l.kind) ? in_q : calibration.outputs[i];
    SetQuant(out_q, op.mutable_output());
    if (l.kind == proto::Int8Op::CONV2D || l.kind == proto::Int8Op::LINEAR) {
      FEDGE_RETURN_IF_ERROR(AddWeightedOp(l, i, in_q, op, body));
    }
    if (l.kind != proto::Int8Op::LINEAR && l.kind != proto::Int8Op::RELU && l.kind != proto::Int8Op::FLATTEN) {
      for (int v : {l.kernel, l.kernel}) op.add_kernel(v);
      for (int v : {l.stride, l.stride}) op.add_stride(v);
      for (int v : {l.padding, l.padding}) op.add_padding(v);
    }
    in_q = out_q;
  }
  return body;
}

}  // namespace fedge
