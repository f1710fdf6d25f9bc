// File: models/model_registry.h
//
// Models beyond the zoo. An application registers its own model by name,
// once at start-up, and from then on every fedge component that builds a
// model by name (the device's trainer, the coordinator's initial model and
// evaluation, fedge-sim, distillation) builds it: `[model] name = "my_net"`.
//
//   fedge::ModelFactory f;
//   f.info = {"my_net", "3-layer perceptron for my sensors"};
//   f.example_shape = [](const fedge::ModelShape& s) -> absl::StatusOr<std::vector<int64_t>> {
//     return std::vector<int64_t>{s.input_features};
//   };
//   f.build = [](const fedge::ModelShape& s) -> absl::StatusOr<torch::nn::Sequential> {
//     return torch::nn::Sequential(torch::nn::Linear(s.input_features, 16), torch::nn::ReLU(),
//                                  torch::nn::Linear(16, s.num_classes));
//   };
//   absl::Status s = fedge::RegisterModel(std::move(f));
//
// A model is a `torch::nn::Sequential` like the zoo's (models/zoo.h) so that
// its flat parameter layout, DP-SGD's per-example gradients and int8
// quantisation apply; layers other than the zoo's train (plain and DP-SGD
// over Conv2d / Linear / GroupNorm) but may not quantise.
//
// TorchScript files exported from PyTorch need no registration: the name
// `torchscript:PATH` loads PATH (models/torchscript_import.h). Every process
// of a federation must see the file at that path; its weights are the initial
// global model.
//
// Thread-safety: RegisterModel is thread-safe, but register before any model
// is built (ModelZoo() hands out a reference to the list).
#ifndef FEDGE_MODELS_MODEL_REGISTRY_H_
#define FEDGE_MODELS_MODEL_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model_shape.h"
#include "models/zoo.h"

namespace fedge {

struct ModelFactory {
  ModelInfo info;
  // The shape of one example, e.g. {1, 28, 28} or {shape.input_features}.
  // Errors (an unsupported shape) come back from CreateModel / ExampleShape.
  std::function<absl::StatusOr<std::vector<int64_t>>(const ModelShape&)> example_shape;
  // A fresh model. CreateModel seeds LibTorch's global generator with the
  // caller's seed first, so initialisation with LibTorch's initialisers is
  // reproducible.
  std::function<absl::StatusOr<torch::nn::Sequential>(const ModelShape&)> build;
};

// kAlreadyExists for a name taken (the zoo's included), kInvalidArgument
// for an empty name, a name starting with "torchscript:", or a missing
// function.
absl::Status RegisterModel(ModelFactory factory);

// The prefix of TorchScript model names: "torchscript:PATH".
inline constexpr char kTorchScriptPrefix[] = "torchscript:";

}  // namespace fedge

#endif  // FEDGE_MODELS_MODEL_REGISTRY_H_
