#include "compression/model/pruning.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"

namespace fedge {
namespace {

bool IsPrunable(const torch::Tensor& p) { return p.dim() >= 2; }

// A mask over `magnitudes` (flat) that is 0 at exactly `count` smallest
// entries and 1 elsewhere.
torch::Tensor KeepLargest(const torch::Tensor& magnitudes, int64_t count) {
  torch::Tensor keep = torch::ones_like(magnitudes);
  if (count > 0) {
    const torch::Tensor smallest = std::get<1>(torch::topk(magnitudes, count, /*dim=*/0, /*largest=*/false));
    keep.index_fill_(0, smallest, 0.0);
  }
  return keep;
}

PruneResult PruneUnchecked(torch::nn::Module& module, const PruneOptions& options) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params = module.parameters();
  std::vector<torch::Tensor> keep(params.size());
  PruneStats stats;
  if (options.scope == PruneScope::kPerLayer) {
    for (size_t i = 0; i < params.size(); ++i) {
      if (!IsPrunable(params[i])) continue;
      const int64_t n = params[i].numel();
      const auto count = static_cast<int64_t>(options.fraction * static_cast<double>(n));
      keep[i] = KeepLargest(params[i].detach().abs().reshape({-1}), count).reshape(params[i].sizes());
      stats.prunable_weights += n;
      stats.zeroed_weights += count;
    }
  } else {
    std::vector<torch::Tensor> flat;
    for (const torch::Tensor& p : params) {
      if (IsPrunable(p)) flat.push_back(p.detach().abs().reshape({-1}));
    }
    const torch::Tensor all = torch::cat(flat);
    stats.prunable_weights = all.numel();
    stats.zeroed_weights = static_cast<int64_t>(options.fraction * static_cast<double>(all.numel()));
    const torch::Tensor all_keep = KeepLargest(all, stats.zeroed_weights);
    int64_t offset = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      if (!IsPrunable(params[i])) continue;
      const int64_t n = params[i].numel();
      keep[i] = all_keep.slice(0, offset, offset + n).reshape(params[i].sizes()).clone();
      offset += n;
    }
  }
  stats.achieved_fraction =
      stats.prunable_weights > 0 ? static_cast<double>(stats.zeroed_weights) / stats.prunable_weights : 0;
  PruneMask mask(std::move(keep));
  mask.Apply(module);
  return PruneResult{std::move(mask), stats};
}

}  // namespace

void PruneMask::Apply(torch::nn::Module& module) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params = module.parameters();
  for (size_t i = 0; i < params.size() && i < keep_.size(); ++i) {
    if (keep_[i].defined()) params[i].mul_(keep_[i]);
  }
}

absl::StatusOr<PruneResult> PruneByMagnitude(torch::nn::Module& module, const PruneOptions& options) {
  if (!(options.fraction >= 0 && options.fraction < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("pruning: fraction must be in [0, 1), got ", options.fraction));
  }
  bool any = false;
  for (const torch::Tensor& p : module.parameters()) any = any || IsPrunable(p);
  if (!any) return absl::InvalidArgumentError("pruning: the model has no weight tensor of rank >= 2");
  try {
    return PruneUnchecked(module, options);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("pruning: LibTorch error: ", e.what()));
  }
}

}  // namespace fedge
