#include "models/zoo.h"

#include <torch/torch.h>

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "absl/synchronization/mutex.h"
#include "core/strings.h"
#include "models/model_registry.h"
#include "models/torchscript_import.h"

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

absl::StatusOr<std::vector<int64_t>> ImageShape(std::string_view name, const ModelShape& shape) {
  if ((shape.input_features != 0 && shape.input_features != kImageSide * kImageSide) ||
      shape.num_classes != kImageClasses) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", AsAbsl(name), "' takes 28x28 images in 10 classes; model.input_features = ", shape.input_features,
        " and model.num_classes = ", shape.num_classes, " are for mlp_tabular"));
  }
  return std::vector<int64_t>{1, kImageSide, kImageSide};
}

absl::StatusOr<std::vector<int64_t>> TabularShape(const ModelShape& shape) {
  if (shape.input_features < 1 || shape.input_features > kMaxTabularFeatures) {
    return absl::InvalidArgumentError(
        absl::StrCat("model 'mlp_tabular' needs model.input_features in [1, ", kMaxTabularFeatures, "], got ",
                     shape.input_features));
  }
  if (shape.num_classes < 2 || shape.num_classes > kMaxClasses) {
    return absl::InvalidArgumentError(
        absl::StrCat("model 'mlp_tabular' needs model.num_classes in [2, ", kMaxClasses, "], got ", shape.num_classes));
  }
  return std::vector<int64_t>{shape.input_features};
}

ModelFactory ImageModel(ModelInfo info, nn::Sequential (*build)()) {
  const std::string name = info.name;
  return {std::move(info), [name](const ModelShape& s) { return ImageShape(name, s); },
          [build](const ModelShape&) -> absl::StatusOr<nn::Sequential> { return build(); }};
}

// The registry: the zoo, then what applications register.
struct Registry {
  absl::Mutex mu;
  std::vector<ModelFactory> factories ABSL_GUARDED_BY(mu);
  std::vector<ModelInfo> infos ABSL_GUARDED_BY(mu);
};

Registry& TheRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry();
    absl::MutexLock lock(&r->mu);
    r->factories = {
        ImageModel({"cnn_small", "2 conv + 1 linear, 18,378 parameters"}, CnnSmall),
        ImageModel({"cnn_lenet", "2 conv + 3 linear (non-IID benchmark CNN), 44,426 parameters"}, CnnLeNet),
        ImageModel({"cnn_student", "distillation student, 2 conv + 1 linear, 5,994 parameters"}, CnnStudent),
        ImageModel({"cnn_small_gn", "cnn_small with GroupNorm, 18,474 parameters"}, CnnSmallGroupNorm),
        ImageModel({"mlp", "784-128-10 perceptron, 101,770 parameters"}, Mlp),
        {{"mlp_tabular", "N-64-32-C perceptron over model.input_features numeric features (CSV, sensors)"},
         TabularShape,
         [](const ModelShape& s) -> absl::StatusOr<nn::Sequential> { return MlpTabular(s); }},
    };
    for (const ModelFactory& f : r->factories) r->infos.push_back(f.info);
    return r;
  }();
  return *registry;
}

absl::StatusOr<ModelFactory> FindFactory(std::string_view name) {
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  std::vector<std::string> names;
  for (const ModelFactory& f : r.factories) {
    if (f.info.name == name) return f;
    names.push_back(f.info.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown model '", AsAbsl(name), "'; known models: ",
                                                 absl::StrJoin(names, ", "), ", or ", kTorchScriptPrefix,
                                                 "PATH for a TorchScript file"));
}

bool IsTorchScript(std::string_view name) { return name.starts_with(kTorchScriptPrefix); }

// A TorchScript model must have the shape the federation declares: its
// classes are model.num_classes, its input width model.input_features when set.
absl::StatusOr<ImportedModel> ImportChecked(std::string_view name, const ModelShape& shape) {
  const std::string path(name.substr(std::string_view(kTorchScriptPrefix).size()));
  // One import per file and process: a simulation builds the model for
  // every virtual device. Callers get their own copy of the module.
  static absl::Mutex mu;
  static auto* cache = new std::map<std::string, ImportedModel>();
  ImportedModel m;
  {
    absl::MutexLock lock(&mu);
    auto it = cache->find(path);
    if (it == cache->end()) {
      FEDGE_ASSIGN_OR_RETURN(ImportedModel imported, ImportTorchScript(path));
      it = cache->emplace(path, std::move(imported)).first;
    }
    m.model = nn::Sequential(std::dynamic_pointer_cast<nn::SequentialImpl>(it->second.model->clone()));
    m.example_shape = it->second.example_shape;
    m.num_classes = it->second.num_classes;
  }
  int64_t width = 1;
  for (int64_t d : m.example_shape) width *= d;
  if (m.num_classes != shape.num_classes || (shape.input_features != 0 && shape.input_features != width)) {
    return absl::InvalidArgumentError(absl::StrCat("TorchScript model '", path, "' takes ", width, " features in ",
                                                   m.num_classes, " classes but the federation says ",
                                                   shape.input_features, " features (0 = any) in ", shape.num_classes,
                                                   " classes: set [model] input_features and num_classes"));
  }
  return m;
}

}  // namespace

absl::Status RegisterModel(ModelFactory factory) {
  const std::string& name = factory.info.name;
  if (name.empty() || IsTorchScript(name) || !factory.build || !factory.example_shape) {
    return absl::InvalidArgumentError(absl::StrCat("RegisterModel: '", name, "' needs a non-empty name not starting with '",
                                                   kTorchScriptPrefix, "', a build and an example_shape function"));
  }
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  for (const ModelFactory& f : r.factories) {
    if (f.info.name == name) return absl::AlreadyExistsError(absl::StrCat("RegisterModel: model '", name, "' exists"));
  }
  r.infos.push_back(factory.info);
  r.factories.push_back(std::move(factory));
  return absl::OkStatus();
}

const std::vector<ModelInfo>& ModelZoo() {
  Registry& r = TheRegistry();
  absl::MutexLock lock(&r.mu);
  return r.infos;
}

absl::StatusOr<torch::nn::Sequential> CreateModel(std::string_view name, uint64_t seed, const ModelShape& shape) {
  try {
    if (IsTorchScript(name)) {
      FEDGE_ASSIGN_OR_RETURN(ImportedModel m, ImportChecked(name, shape));
      return std::move(m.model);  // the file's weights, whatever the seed
    }
    FEDGE_ASSIGN_OR_RETURN(const ModelFactory f, FindFactory(name));
    FEDGE_RETURN_IF_ERROR(f.example_shape(shape).status());
    // Initialisation draws from Torch's global generator; a private one
    // would be better, but LibTorch 1.13's module initialisers do not take
    // a generator. Hold a lock so concurrent constructions stay reproducible.
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    torch::manual_seed(seed);
    return f.build(shape);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("building model '", AsAbsl(name), "': ", e.what()));
  }
}

absl::StatusOr<std::vector<int64_t>> ExampleShape(std::string_view name, const ModelShape& shape) {
  if (IsTorchScript(name)) {
    FEDGE_ASSIGN_OR_RETURN(ImportedModel m, ImportChecked(name, shape));
    return m.example_shape;
  }
  FEDGE_ASSIGN_OR_RETURN(const ModelFactory f, FindFactory(name));
  return f.example_shape(shape);
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
