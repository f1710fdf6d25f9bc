#include "models/zoo.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
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

// Tabular / sensor data: F -> 64 -> 32 -> C perceptron over a row of F
// numeric features (already normalised by the device's preprocessing).
nn::Sequential MlpTabular(const ModelShape& shape) {
  return nn::Sequential(nn::Linear(shape.input_features, 64), nn::ReLU(), nn::Linear(64, 32), nn::ReLU(),
                        nn::Linear(32, shape.num_classes));
}

constexpr int64_t kImageSide = 28;
constexpr int64_t kImageClasses = 10;
constexpr int64_t kMaxTabularFeatures = int64_t{1} << 20;
constexpr int64_t kMaxClasses = 100000;

struct Entry {
  ModelInfo info;
  nn::Sequential (*build)();                          // image models
  nn::Sequential (*build_tabular)(const ModelShape&);  // models over N features
};

const std::vector<Entry>& Entries() {
  static const auto* entries = new std::vector<Entry>{
      {{"cnn_small", "2 conv + 1 linear, 18,378 parameters"}, CnnSmall, nullptr},
      {{"cnn_lenet", "2 conv + 3 linear (non-IID benchmark CNN), 44,426 parameters"}, CnnLeNet, nullptr},
      {{"cnn_student", "distillation student, 2 conv + 1 linear, 5,994 parameters"}, CnnStudent, nullptr},
      {{"cnn_small_gn", "cnn_small with GroupNorm, 18,474 parameters"}, CnnSmallGroupNorm, nullptr},
      {{"mlp", "784-128-10 perceptron, 101,770 parameters"}, Mlp, nullptr},
      {{"mlp_tabular", "N-64-32-C perceptron over model.input_features numeric features (CSV, sensors)"},
       nullptr, MlpTabular},
  };
  return *entries;
}

absl::StatusOr<const Entry*> FindEntry(std::string_view name, const ModelShape& shape) {
  for (const Entry& e : Entries()) {
    if (e.info.name != name) continue;
    if (e.build_tabular != nullptr) {
      if (shape.input_features < 1 || shape.input_features > kMaxTabularFeatures) {
        return absl::InvalidArgumentError(absl::StrCat("model '", AsAbsl(name), "' needs model.input_features in [1, ",
                                                       kMaxTabularFeatures, "], got ", shape.input_features));
      }
      if (shape.num_classes < 2 || shape.num_classes > kMaxClasses) {
        return absl::InvalidArgumentError(absl::StrCat("model '", AsAbsl(name), "' needs model.num_classes in [2, ",
                                                       kMaxClasses, "], got ", shape.num_classes));
      }
    } else if ((shape.input_features != 0 && shape.input_features != kImageSide * kImageSide) ||
               shape.num_classes != kImageClasses) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", AsAbsl(name), "' takes 28x28 images in 10 classes; model.input_features = ", shape.input_features,
          " and model.num_classes = ", shape.num_classes, " are for mlp_tabular"));
    }
    return &e;
  }
  std::vector<std::string> names;
  for (const Entry& e : Entries()) names.push_back(e.info.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model '", AsAbsl(name), "'; known models: ", absl::StrJoin(names, ", ")));
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

absl::StatusOr<torch::nn::Sequential> CreateModel(std::string_view name, uint64_t seed, const ModelShape& shape) {
  FEDGE_ASSIGN_OR_RETURN(const Entry* e, FindEntry(name, shape));
  // Initialisation draws from Torch's global generator; a private one
  // would be better, but LibTorch 1.13's module initialisers do not take
  // a generator. Hold a lock so concurrent constructions stay reproducible.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  torch::manual_seed(seed);
  return e->build_tabular != nullptr ? e->build_tabular(shape) : e->build();
}

absl::StatusOr<std::vector<int64_t>> ExampleShape(std::string_view name, const ModelShape& shape) {
  FEDGE_ASSIGN_OR_RETURN(const Entry* e, FindEntry(name, shape));
  if (e->build_tabular != nullptr) return std::vector<int64_t>{shape.input_features};
  return std::vector<int64_t>{1, kImageSide, kImageSide};
}

absl::StatusOr<int64_t> InputFeatures(std::string_view name, const ModelShape& shape) {
  FEDGE_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ExampleShape(name, shape));
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace fedge
