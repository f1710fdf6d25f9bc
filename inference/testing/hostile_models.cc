#include "inference/testing/hostile_models.h"

#include <cstdint>
#include <utility>

namespace fedge::testing {
namespace {

constexpr int kSide = 4096;

proto::ArtifactBody EmptyBody(const std::string& model_id, uint64_t version, int num_classes) {
  proto::ArtifactBody body;
  body.mutable_header()->set_model_id(model_id);
  body.mutable_header()->set_version(version);
  body.mutable_header()->set_dtype(proto::DTYPE_INT8);
  proto::Int8Graph* graph = body.mutable_int8_graph();
  graph->set_format_version(1);
  for (int64_t d : {1, kSide, kSide}) graph->add_input_shape(d);
  graph->mutable_input()->set_scale(0.02f);
  graph->set_num_classes(num_classes);
  return body;
}

void AddTensor(proto::ArtifactBody& body, const std::string& name, proto::DType dtype,
               std::initializer_list<int64_t> shape, size_t bytes) {
  proto::TensorProto* t = body.add_tensors();
  t->set_name(name);
  t->set_dtype(dtype);
  for (int64_t d : shape) t->add_shape(d);
  t->set_data(std::string(bytes, '\1'));
}

void AddPool(proto::Int8Graph& graph, int kernel, int stride) {
  proto::Int8Op* op = graph.add_ops();
  op->set_kind(proto::Int8Op::MAX_POOL2D);
  op->add_kernel(kernel);
  op->add_kernel(kernel);
  op->add_stride(stride);
  op->add_stride(stride);
}

// One weighted op with `out` channels, scale 1 weights and output params.
proto::Int8Op* AddWeighted(proto::Int8Graph& graph, proto::Int8Op::Kind kind, const std::string& name, int out) {
  proto::Int8Op* op = graph.add_ops();
  op->set_kind(kind);
  op->set_weights(name + ".weight");
  op->set_bias(name + ".bias");
  for (int c = 0; c < out; ++c) op->add_weight_scales(1.0f / 127);
  op->mutable_output()->set_scale(0.05f);
  return op;
}

}  // namespace

proto::ArtifactBody ScratchBombBody(const std::string& model_id, uint64_t version) {
  constexpr int kKernel = 64;
  proto::ArtifactBody body = EmptyBody(model_id, version, /*num_classes=*/2);
  proto::Int8Graph& graph = *body.mutable_int8_graph();
  AddWeighted(graph, proto::Int8Op::CONV2D, "conv", 1);
  AddTensor(body, "conv.weight", proto::DTYPE_INT8, {1, 1, kKernel, kKernel}, kKernel * kKernel);
  AddTensor(body, "conv.bias", proto::DTYPE_INT32, {1}, sizeof(int32_t));
  AddPool(graph, kSide - kKernel + 1, kSide - kKernel + 1);
  graph.add_ops()->set_kind(proto::Int8Op::FLATTEN);
  AddWeighted(graph, proto::Int8Op::LINEAR, "fc", 2);
  AddTensor(body, "fc.weight", proto::DTYPE_INT8, {2, 1}, 2);
  AddTensor(body, "fc.bias", proto::DTYPE_INT32, {2}, 2 * sizeof(int32_t));
  return body;
}

proto::ArtifactBody ComputeBombBody(const std::string& model_id, uint64_t version) {
  constexpr int kKernel = kSide / 2;
  proto::ArtifactBody body = EmptyBody(model_id, version, /*num_classes=*/1);
  proto::Int8Graph& graph = *body.mutable_int8_graph();
  AddPool(graph, kKernel, 1);
  AddPool(graph, kSide - kKernel + 1, kSide - kKernel + 1);
  graph.add_ops()->set_kind(proto::Int8Op::FLATTEN);
  return body;
}

proto::ArtifactBody WithOutputScale(proto::ArtifactBody body, float scale) {
  proto::Int8Graph* graph = body.mutable_int8_graph();
  graph->mutable_ops(graph->ops_size() - 1)->mutable_output()->set_scale(scale);
  return body;
}

}  // namespace fedge::testing
