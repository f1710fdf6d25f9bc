// File: models/torchscript_import.h
//
// Bring your own model: a TorchScript file exported from PyTorch
// (`torch.jit.script(nn.Sequential(...)).save(path, _extra_files=...)`, see
// tests/models/make_torchscript_models.py) becomes the same
// `torch::nn::Sequential` the zoo builds, with the file's weights. Every
// consumer of a zoo model (the flat parameter layout, training, DP-SGD's
// per-example gradients, evaluation, distillation and int8 quantisation)
// then works on it unchanged, and a TorchScript model whose layers match a
// zoo model has exactly that model's parameter layout.
//
// The file must hold a scripted `nn.Sequential` of the layers the zoo uses:
// Conv2d (groups 1, dilation 1, zero padding), Linear, ReLU, MaxPool2d
// (dilation 1, no ceil_mode), Flatten, GroupNorm. The shape of one example
// comes from the extra file `fedge_example_shape` ("1 28 28"), or, for a
// model that starts with Linear, from its in_features. Import runs the file's
// own forward and the translation on the same random batch and refuses the
// model unless they agree, so a layer the importer misreads cannot train
// silently as another model.
//
// Thread-safety: ImportTorchScript may be called concurrently.
#ifndef FEDGE_MODELS_TORCHSCRIPT_IMPORT_H_
#define FEDGE_MODELS_TORCHSCRIPT_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>

#include "absl/status/statusor.h"

namespace fedge {

struct ImportedModel {
  torch::nn::Sequential model = nullptr;
  // Shape of one example, e.g. {1, 28, 28}.
  std::vector<int64_t> example_shape;
  // Outputs of the last layer (the number of classes).
  int64_t num_classes = 0;
};

// kNotFound for a missing file; kInvalidArgument, naming the file and the
// layer, for anything else that is not a model of the form above.
absl::StatusOr<ImportedModel> ImportTorchScript(const std::string& path);

}  // namespace fedge

#endif  // FEDGE_MODELS_TORCHSCRIPT_IMPORT_H_
