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
  torch::Tensor images;  // float [N, 1, H, W]
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Converts all examples of `data`.
TensorDataset ToTensors(const ImageDataset& data);
// Converts the examples at `indices`. REQUIRES: every index < data.num_examples.
TensorDataset ToTensors(const ImageDataset& data, absl::Span<const int64_t> indices);

}  // namespace fedge

#endif  // FEDGE_MODELS_DATASET_H_
