// File: models/dataset.h
//
// Labelled image data as LibTorch tensors, ready for training: images as
// float [N, 1, H, W], normalised with the Fashion-MNIST training mean and
// standard deviation; labels as int64 [N].
#ifndef FEDGE_MODELS_DATASET_H_
#define FEDGE_MODELS_DATASET_H_

#include <cstdint>

#include <torch/types.h>

#include "absl/types/span.h"
#include "core/idx.h"

namespace fedge {

// Pixel statistics of the Fashion-MNIST training set (pixels scaled to [0, 1]).
inline constexpr float kFashionMnistMean = 0.2860f;
inline constexpr float kFashionMnistStd = 0.3530f;

struct TensorDataset {
  torch::Tensor images;  // float [N, 1, H, W], or raw uint8 pixels (ToRawTensors)
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Converts all examples of `data`.
TensorDataset ToTensors(const ImageDataset& data);
// Converts the examples at `indices`. REQUIRES: every index < data.num_examples.
TensorDataset ToTensors(const ImageDataset& data, absl::Span<const int64_t> indices);

// All examples of `data` with the pixels kept as uint8 [N, 1, H, W]: a
// quarter of ToTensors' memory, for a set that is only evaluated
// (Evaluate normalises each batch with ModelInput).
TensorDataset ToRawTensors(const ImageDataset& data);
// The examples at `indices`, pixels kept as uint8: a training set that
// Train and Evaluate normalise batch by batch (a simulated device's shard,
// converted every round, costs a quarter of ToTensors' memory and no
// whole-shard float pass). REQUIRES: every index < data.num_examples.
TensorDataset ToRawTensors(const ImageDataset& data, absl::Span<const int64_t> indices);

// `images` as the models take them: uint8 pixels scaled and normalised
// like ToTensors does; float images are returned as they are.
torch::Tensor ModelInput(const torch::Tensor& images);

}  // namespace fedge

#endif  // FEDGE_MODELS_DATASET_H_
