// File: models/torch_params.h
//
// Conversion between LibTorch modules and fedge's flat parameter vectors
// (core/params.h). Tensor names are the module's `named_parameters()` keys,
// in registration order, so a layout is stable for a given architecture.
#ifndef FEDGE_MODELS_TORCH_PARAMS_H_
#define FEDGE_MODELS_TORCH_PARAMS_H_

#include <torch/nn/module.h>

#include "absl/status/status.h"
#include "core/params.h"

namespace fedge {

// The layout of `module`'s trainable parameters.
ParamLayout LayoutOf(const torch::nn::Module& module);

// Copies the module's parameters into a flat vector.
ModelParams ToParams(const torch::nn::Module& module);

// Copies `params` into the module. kInvalidArgument if the layout differs
// from the module's (names the first mismatching tensor).
absl::Status LoadParams(const ModelParams& params, torch::nn::Module& module);

}  // namespace fedge

#endif  // FEDGE_MODELS_TORCH_PARAMS_H_
