// File: compression/model/int8_quantizer.h
//
// Post-training int8 quantisation of a zoo `torch::nn::Sequential` into the
// integer-only format of inference/README.md. The arithmetic is not
// re-implemented here: the float layers are handed to `Int8ModelBuilder`
// (per-output-channel symmetric int8 weights, int32 biases at
// input_scale * weight_scale[c], fixed-point requantisation multipliers
// derived at load time), and this file contributes what needs LibTorch:
//
//  * reading the Sequential: Conv2d, Linear, ReLU, MaxPool2d and Flatten are
//    supported; a ReLU directly after a Conv2d / Linear is fused into it
//    (`fused_relu`), any other ReLU becomes a RELU op. Every other layer
//    (GroupNorm, BatchNorm, Dropout, ...) and unsupported settings (groups,
//    dilation, non-square or non-zero padding modes, ceil_mode) are refused
//    with kInvalidArgument naming the layer index and type.
//  * calibration: the model runs batched in LibTorch over the calibration
//    images and every quantised activation (after each fused op) gets
//    per-tensor affine int8 parameters from its observed range (always
//    including 0, so padding and ReLU stay exact):
//      - kMinMax: [min, max] of all observed values (no clipping; the default,
//        which suits small calibration sets and keeps logits unclipped);
//      - kPercentile: [q(100 - p), q(p)] of all observed values, clipping
//        rare outliers for finer resolution of the bulk.
//    The network input always uses min/max (pixel ranges are bounded).
//
// Example:
//   FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body,
//                          QuantizeToInt8(*student, calibration_images, QuantizeOptions{}, header));
//   FEDGE_ASSIGN_OR_RETURN(std::string bytes, SignArtifact(body, coordinator_key));
//
// Thread-safety: functions are reentrant; the model must not be used by two
// threads at once. LibTorch exceptions are returned as kInternal.
#ifndef FEDGE_COMPRESSION_MODEL_INT8_QUANTIZER_H_
#define FEDGE_COMPRESSION_MODEL_INT8_QUANTIZER_H_

#include <array>
#include <cstdint>

#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include "absl/status/statusor.h"
#include "inference/model_builder.h"
#include "proto/fedge.pb.h"

namespace fedge {

enum class CalibrationMethod { kMinMax, kPercentile };

struct QuantizeOptions {
  CalibrationMethod calibration = CalibrationMethod::kMinMax;
  // kPercentile: upper percentile p in (50, 100]; the lower bound is 100 - p.
  double percentile = 99.99;
  // At most this many calibration images are used (the first ones given).
  int64_t max_calibration_examples = 1000;
  // LibTorch batch size for the calibration pass.
  int64_t batch_size = 250;
};

// kInvalidArgument naming the bad field.
absl::Status ValidateQuantizeOptions(const QuantizeOptions& options);

// Reads `model` into a float Int8ModelBuilder for inputs of shape
// [channels, height, width]. kInvalidArgument naming the first unsupported
// layer or setting, or a shape the layers do not accept.
absl::StatusOr<Int8ModelBuilder> ToInt8Builder(torch::nn::Sequential& model, std::array<int, 3> input_shape);

// Activation parameters for the builder ToInt8Builder(model, ...) returns,
// from `images` (float [N, C, H, W], N > 0).
// kInvalidArgument: bad options or images, unsupported model.
// kInternal: a LibTorch error.
absl::StatusOr<Int8Calibration> CalibrateActivations(torch::nn::Sequential& model, const torch::Tensor& images,
                                                     const QuantizeOptions& options);

// Quantises `model` into an INT8 ArtifactBody (graph format_version 1).
// `header` is copied, with dtype set to INT8. The input shape is taken from
// `calibration_images` [N, C, H, W]. Same status codes as above.
absl::StatusOr<proto::ArtifactBody> QuantizeToInt8(torch::nn::Sequential& model,
                                                   const torch::Tensor& calibration_images,
                                                   const QuantizeOptions& options, proto::ArtifactHeader header);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_MODEL_INT8_QUANTIZER_H_
