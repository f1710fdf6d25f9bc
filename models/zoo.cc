#include "models/zoo.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace fedge {
namespace {

namespace nn = torch::nn;

nn::Conv2d Conv(int64_t in, int64_t out, int64_t k) { return nn::Conv2d(nn::Conv2dOptions(in, out, k)); }
nn::MaxPool2d Pool() { return nn::MaxPool2d(nn::MaxPool2dOptions(2)); }

// conv 1->16 k5, ReLU, pool 2, conv 16->32 k5, ReLU, pool 2, linear 512->10: 18,378 parameters.
nn::Sequential CnnSmall() {
  return nn::Sequential(Conv(1, 16, 5), nn::ReLU(), Pool(), Conv(16, 32, 5), nn::ReLU(), Pool(), nn::Flatten(),
                        nn::Linear(512, 10));
}

// The 2-conv / 3-FC CNN of the standard non-IID benchmarks: 44,426 parameters.
nn::Sequential CnnLeNet() {
  return nn::Sequential(Conv(1, 6, 5), nn::ReLU(), Pool(), Conv(6, 16, 5), nn::ReLU(), Pool(), nn::Flatten(),
                        nn::Linear(256, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
}

// Distillation student: conv 1->8 k5, conv 8->16 k5, linear 256->10: 5,994 parameters.
nn::Sequential CnnStudent() {
  return nn::Sequential(Conv(1, 8, 5), nn::ReLU(), Pool(), Conv(8, 16, 5), nn::ReLU(), Pool(), nn::Flatten(),
                        nn::Linear(256, 10));
}

// cnn_small with GroupNorm after each convolution (for DP-SGD).
nn::Sequential CnnSmallGroupNorm() {
  return nn::Sequential(Conv(1, 16, 5), nn::GroupNorm(nn::GroupNormOptions(4, 16)), nn::ReLU(), Pool(),
                        Conv(16, 32, 5), nn::GroupNorm(nn::GroupNormOptions(4, 32)), nn::ReLU(), Pool(),
                        nn::Flatten(), nn::Linear(512, 10));
}

// 784 -> 128 -> 10 multilayer perceptron: 101,770 parameters.
nn::Sequential Mlp() {
  return nn::Sequential(nn::Flatten(), nn::Linear(784, 128), nn::ReLU(), nn::Linear(128, 10));
}

struct Entry {
  ModelInfo info;
  nn::Sequential (*build)();
};

const std::vector<Entry>& Entries() {
  static const auto* entries = new std::vector<Entry>{
      {{"cnn_small", "2 conv + 1 linear, 18,378 parameters"}, CnnSmall},
      {{"cnn_lenet", "2 conv + 3 linear (non-IID benchmark CNN), 44,426 parameters"}, CnnLeNet},
      {{"cnn_student", "distillation student, 2 conv + 1 linear, 5,994 parameters"}, CnnStudent},
      {{"cnn_small_gn", "cnn_small with GroupNorm, 18,474 parameters"}, CnnSmallGroupNorm},
      {{"mlp", "784-128-10 perceptron, 101,770 parameters"}, Mlp},
  };
  return *entries;
}

}  // namespace

const std::vector<ModelInfo>& ModelZoo() {
  static const auto* infos = [] {
    auto* v = new std::vector<ModelInfo>();
    for (const Entry& e : Entries()) v->push_back(e.info);
    return v;
  }();
  return *infos;
}

absl::StatusOr<torch::nn::Sequential> CreateModel(std::string_view name, uint64_t seed) {
  for (const Entry& e : Entries()) {
    if (e.info.name != name) continue;
    // Initialisation draws from Torch's global generator; a private one
    // would be better, but LibTorch 1.13's module initialisers do not take
    // a generator. Hold a lock so concurrent constructions stay reproducible.
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    torch::manual_seed(seed);
    return e.build();
  }
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.push_back(e.info.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model '", AsAbsl(name), "'; known models: ", absl::StrJoin(names, ", ")));
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace fedge
