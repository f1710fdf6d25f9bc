// File: inference/float_model.h
//
// A float network expressed in the op vocabulary of the int8 format
// (proto/int8_model.proto), with a plain float forward pass that follows the
// same conventions as the int8 runtime (zero-padded convolution, max pooling
// that ignores padding, average pooling that counts padding and divides by
// kh*kw). It is what Int8ModelBuilder quantises, the calibration pass that
// picks activation ranges, and the float reference in tests. No LibTorch:
// weights come in as flat row-major float vectors ([OC, IC, K, K] for
// convolutions, [OUT, IN] for linear layers, as PyTorch stores them).
//
// Thread-safety: plain values; RunFloatModel is a pure function.
#ifndef FEDGE_INFERENCE_FLOAT_MODEL_H_
#define FEDGE_INFERENCE_FLOAT_MODEL_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inference/graph_plan.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct FloatLayer {
  proto::Int8Op::Kind kind = proto::Int8Op::KIND_UNSPECIFIED;
  int out_channels = 0;  // CONV2D / LINEAR
  int kernel = 1;        // square windows (CONV2D, pooling)
  int stride = 1;
  int padding = 0;
  bool fused_relu = false;  // CONV2D / LINEAR
  std::vector<float> weights;
  std::vector<float> bias;
  ActShape in;   // set by AppendLayer
  ActShape out;  // set by AppendLayer
};

struct FloatModel {
  ActShape input;
  std::vector<FloatLayer> layers;
  const ActShape& output() const { return layers.empty() ? input : layers.back().out; }
};

// Infers `layer`'s input/output shapes from the model's current output and
// appends it. kInvalidArgument (naming the layer index) for an unknown kind,
// wrong weight/bias counts, a window that does not fit, or a rank mismatch
// (CONV2D/pooling need [C, H, W], LINEAR needs a flat input).
absl::Status AppendLayer(FloatModel& model, FloatLayer layer);

// Observed [min, max] of one activation.
struct ActRange {
  float min = 0;
  float max = 0;
};

// Runs the model on one example (model.input.size() floats). If `ranges`
// is not null, widens (*ranges)[i] by layer i's output values; it must then
// have one entry per layer (and is extended from empty on first use).
// kInvalidArgument on a size mismatch.
absl::StatusOr<std::vector<float>> RunFloatModel(const FloatModel& model, absl::Span<const float> input,
                                                 std::vector<ActRange>* ranges = nullptr);

}  // namespace fedge

#endif  // FEDGE_INFERENCE_FLOAT_MODEL_H_
