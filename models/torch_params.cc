#include "models/torch_params.h"

#include <torch/torch.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/layout_check.h"
#include "core/status.h"

namespace fedge {

ParamLayout LayoutOf(const torch::nn::Module& module) {
  std::vector<TensorSpec> specs;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    specs.push_back({item.key(), item.value().sizes().vec()});
  }
  // Parameter names from a Module are unique and shapes positive, so
  // Create cannot fail here.
  return *ParamLayout::Create(std::move(specs));
}

ModelParams ToParams(const torch::nn::Module& module) {
  ModelParams params;
  params.layout = LayoutOf(module);
  params.values.resize(params.layout.num_elements());
  float* out = params.values.data();
  for (const auto& p : module.parameters(/*recurse=*/true)) {
    torch::Tensor t = p.detach().to(torch::kCPU, torch::kFloat).contiguous();
    std::memcpy(out, t.data_ptr<float>(), t.numel() * sizeof(float));
    out += t.numel();
  }
  return params;
}

absl::Status LoadParams(const ModelParams& params, torch::nn::Module& module) {
  const ParamLayout layout = LayoutOf(module);
  FEDGE_RETURN_IF_ERROR(CheckSameLayout(layout, params.layout, "parameters do not fit the model (different architecture?)",
                                        "the model", "the parameters"));
  FEDGE_RETURN_IF_ERROR(params.Validate());
  torch::NoGradGuard no_grad;
  const float* in = params.values.data();
  for (auto& p : module.parameters(/*recurse=*/true)) {
    p.copy_(torch::from_blob(const_cast<float*>(in), p.sizes(), torch::kFloat));
    in += p.numel();
  }
  return absl::OkStatus();
}

}  // namespace fedge
