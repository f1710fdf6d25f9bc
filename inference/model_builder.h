// File: inference/model_builder.h
//
// `Int8ModelBuilder` turns a float network (float weights, no LibTorch) into
// an INT8 ArtifactBody in the format the runtime loads: per-output-channel
// symmetric int8 weights (QuantizeWeightsPerChannel), int32 biases at
// input_scale * weight_scale[c], and per-tensor affine int8 activations
// chosen from min/max calibration or given explicitly. It serves tests,
// benchmarks and tools; compression/'s LibTorch post-training quantiser
// produces the same format and may reuse this builder or quantization.h.
//
// Example:
//   Int8ModelBuilder b(1, 28, 28);
//   b.Conv2d(8, 5, 1, 0, w1, b1, /*fused_relu=*/true).MaxPool2d(2, 2).Flatten().Linear(10, w2, b2);
//   FEDGE_ASSIGN_OR_RETURN(Int8Calibration cal, b.Calibrate(samples));
//   FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, b.Build(cal, header));
//   FEDGE_ASSIGN_OR_RETURN(std::string bytes, SignArtifact(body, signing_key));
//
// Layer-adding methods never fail; the first error is kept and returned by
// status(), Calibrate() and Build().
// Thread-safety: thread-compatible; const methods may run concurrently.
#ifndef FEDGE_INFERENCE_MODEL_BUILDER_H_
#define FEDGE_INFERENCE_MODEL_BUILDER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inference/float_model.h"
#include "inference/quantization.h"
#include "proto/fedge.pb.h"

namespace fedge {

// Activation parameters for the input and for each layer's output.
struct Int8Calibration {
  ActivationQuant input;
  std::vector<ActivationQuant> outputs;  // one per layer
};

class Int8ModelBuilder {
 public:
  // Shape [channels, height, width] of one input example.
  Int8ModelBuilder(int channels, int height, int width);

  // Weights [out_channels, in_channels, kernel, kernel] row-major; bias [out_channels].
  Int8ModelBuilder& Conv2d(int out_channels, int kernel, int stride, int padding, std::vector<float> weights,
                           std::vector<float> bias, bool fused_relu = false);
  // Weights [out_features, in_features] row-major; bias [out_features].
  Int8ModelBuilder& Linear(int out_features, std::vector<float> weights, std::vector<float> bias,
                           bool fused_relu = false);
  Int8ModelBuilder& Relu();
  Int8ModelBuilder& MaxPool2d(int kernel, int stride, int padding = 0);
  Int8ModelBuilder& AvgPool2d(int kernel, int stride, int padding = 0);
  Int8ModelBuilder& Flatten();

  // OK, or the first error of a layer-adding call (kInvalidArgument).
  const absl::Status& status() const { return status_; }
  const FloatModel& float_model() const { return model_; }

  // Runs the float model over `samples` (a whole number of examples back to
  // back) and picks asymmetric int8 parameters from each activation's
  // observed [min, max] (always including 0). Layers that keep their input's
  // parameters (RELU, MAX_POOL2D, FLATTEN) get them. kInvalidArgument for an
  // empty or ragged sample set, or a builder error.
  absl::StatusOr<Int8Calibration> Calibrate(absl::Span<const float> samples) const;

  // Quantises the model. `header` is copied with dtype set to INT8.
  // kInvalidArgument for a builder error, a calibration with the wrong number
  // of layers or invalid parameters, or a model whose output is not flat.
  absl::StatusOr<proto::ArtifactBody> Build(const Int8Calibration& calibration,
                                            proto::ArtifactHeader header = {}) const;

 private:
  Int8ModelBuilder& Add(FloatLayer layer);

  FloatModel model_;
  absl::Status status_;
};

}  // namespace fedge

#endif  // FEDGE_INFERENCE_MODEL_BUILDER_H_
