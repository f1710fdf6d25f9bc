// File: models/zoo.h
//
// The model zoo: compact LibTorch models for 28x28 single-channel images
// (Fashion-MNIST), and `mlp_tabular` for rows of N numeric features
// (tabular and sensor data, e.g. a CSV source), each constructible by name
// from config. Every model is a
// flat `torch::nn::Sequential` of Conv2d / GroupNorm / ReLU / MaxPool2d /
// Flatten / Linear layers, which keeps three consumers simple: the flat
// parameter layout (models/torch_params.h), per-example gradients for
// DP-SGD, and int8 post-training quantisation.
//
// Normalisation, where used, is GroupNorm: BatchNorm mixes examples within a
// batch and so is incompatible with per-example differential privacy.
//
// Thread-safety: CreateModel may be called concurrently; a model instance is
// used by one thread at a time.
#ifndef FEDGE_MODELS_ZOO_H_
#define FEDGE_MODELS_ZOO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "absl/status/statusor.h"
#include "core/model_shape.h"

namespace fedge {

struct ModelInfo {
  std::string name;
  std::string description;
};

// The names CreateModel accepts, with one-line descriptions.
const std::vector<ModelInfo>& ModelZoo();

// Builds model `name` with parameters initialised from `seed` (the same seed
// gives the same initial weights) for `shape`. kInvalidArgument for an
// unknown name (listing the known ones), for `mlp_tabular` without
// input_features, and for an image model asked for another input width or
// class count than 784 and 10.
absl::StatusOr<torch::nn::Sequential> CreateModel(std::string_view name, uint64_t seed, const ModelShape& shape = {});

// The shape of one example as model `name` takes it: {1, 28, 28} for the
// image models, {input_features} for mlp_tabular. Same errors as CreateModel.
absl::StatusOr<std::vector<int64_t>> ExampleShape(std::string_view name, const ModelShape& shape = {});

// Features per example (the product of ExampleShape).
absl::StatusOr<int64_t> InputFeatures(std::string_view name, const ModelShape& shape = {});

// Number of trainable parameters.
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace fedge

#endif  // FEDGE_MODELS_ZOO_H_
