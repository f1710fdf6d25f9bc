#include "models/torchscript_import.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace fedge {
namespace {

namespace nn = torch::nn;
namespace jit = torch::jit;

constexpr char kExampleShapeFile[] = "fedge_example_shape";

// Reads the attributes of one scripted layer; errors name the layer.
class Layer {
 public:
  Layer(const jit::Module& module, std::string name) : module_(module), name_(std::move(name)) {}

  std::string kind() const {
    const auto qualified = module_.type()->name();
    return qualified.has_value() ? qualified->name() : "<anonymous>";
  }
  absl::Status Error(absl::string_view problem) const {
    return absl::InvalidArgumentError(absl::StrCat("layer '", name_, "' (", kind(), "): ", problem));
  }
  absl::StatusOr<int64_t> Int(const std::string& attr) const {
    if (!module_.hasattr(attr)) return Error(absl::StrCat("has no attribute '", attr, "'"));
    const c10::IValue v = module_.attr(attr);
    if (!v.isInt()) return Error(absl::StrCat("'", attr, "' is not an integer"));
    return v.toInt();
  }
  // An int or a tuple of two equal ints (square kernels, strides, padding).
  absl::StatusOr<int64_t> Square(const std::string& attr) const {
    if (!module_.hasattr(attr)) return Error(absl::StrCat("has no attribute '", attr, "'"));
    const c10::IValue v = module_.attr(attr);
    if (v.isInt()) return v.toInt();
    if (v.isTuple()) {
      const auto& e = v.toTupleRef().elements();
      if (e.size() == 2 && e[0].isInt() && e[1].isInt() && e[0].toInt() == e[1].toInt()) return e[0].toInt();
    }
    return Error(absl::StrCat("'", attr, "' must be an int or a pair of equal ints"));
  }
  absl::StatusOr<torch::Tensor> Tensor(const std::string& attr) const {
    if (!module_.hasattr(attr) || !module_.attr(attr).isTensor()) {
      return Error(absl::StrCat("has no tensor '", attr, "'"));
    }
    return module_.attr(attr).toTensor().detach().to(torch::kFloat);
  }
  bool IsNone(const std::string& attr) const { return !module_.hasattr(attr) || module_.attr(attr).isNone(); }
  // True when the attribute is the boolean true.
  bool Flag(const std::string& attr) const {
    return module_.hasattr(attr) && module_.attr(attr).isBool() && module_.attr(attr).toBool();
  }
  absl::StatusOr<double> Double(const std::string& attr) const {
    if (!module_.hasattr(attr) || !module_.attr(attr).isDouble()) return Error(absl::StrCat("'", attr, "' is not a float"));
    return module_.attr(attr).toDouble();
  }
  // The attribute as a string, "" when absent or not a string.
  std::string String(const std::string& attr) const {
    if (!module_.hasattr(attr) || !module_.attr(attr).isString()) return "";
    return module_.attr(attr).toStringRef();
  }

 private:
  const jit::Module& module_;
  std::string name_;
};

// Copies `from` into the parameter `to` (same shape: the translation made it).
absl::Status CopyInto(const Layer& layer, const torch::Tensor& from, torch::Tensor& to) {
  if (from.sizes() != to.sizes()) {
    return layer.Error(absl::StrCat("tensor of shape [", absl::StrJoin(from.sizes(), ", "), "], expected [",
                                    absl::StrJoin(to.sizes(), ", "), "]"));
  }
  torch::NoGradGuard no_grad;
  to.copy_(from);
  return absl::OkStatus();
}

// Copies the layer's weight, and its bias when it has one, into the module's.
absl::Status CopyWeights(const Layer& l, torch::Tensor& weight, torch::Tensor& bias) {
  FEDGE_ASSIGN_OR_RETURN(const torch::Tensor w, l.Tensor("weight"));
  FEDGE_RETURN_IF_ERROR(CopyInto(l, w, weight));
  if (l.IsNone("bias")) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(const torch::Tensor b, l.Tensor("bias"));
  return CopyInto(l, b, bias);
}

absl::Status AddConv(const Layer& l, nn::Sequential& seq, int64_t* features) {
  FEDGE_ASSIGN_OR_RETURN(const int64_t in, l.Int("in_channels"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t out, l.Int("out_channels"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t k, l.Square("kernel_size"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t stride, l.Square("stride"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t padding, l.Square("padding"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t dilation, l.Square("dilation"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t groups, l.Int("groups"));
  if (dilation != 1 || groups != 1) return l.Error("only dilation 1 and groups 1 are supported");
  if (l.String("padding_mode") != "zeros") return l.Error("only padding_mode 'zeros' is supported");
  nn::Conv2d conv(nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).bias(!l.IsNone("bias")));
  FEDGE_RETURN_IF_ERROR(CopyWeights(l, conv->weight, conv->bias));
  seq->push_back(conv);
  *features = out;
  return absl::OkStatus();
}

absl::Status AddLinear(const Layer& l, nn::Sequential& seq, int64_t* features) {
  FEDGE_ASSIGN_OR_RETURN(const int64_t in, l.Int("in_features"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t out, l.Int("out_features"));
  nn::Linear linear(nn::LinearOptions(in, out).bias(!l.IsNone("bias")));
  FEDGE_RETURN_IF_ERROR(CopyWeights(l, linear->weight, linear->bias));
  seq->push_back(linear);
  *features = out;
  return absl::OkStatus();
}

absl::Status AddMaxPool(const Layer& l, nn::Sequential& seq) {
  FEDGE_ASSIGN_OR_RETURN(const int64_t k, l.Square("kernel_size"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t stride, l.Square("stride"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t padding, l.Square("padding"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t dilation, l.Square("dilation"));
  if (dilation != 1) return l.Error("only dilation 1 is supported");
  if (l.Flag("ceil_mode")) return l.Error("ceil_mode is not supported");
  seq->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(k).stride(stride).padding(padding)));
  return absl::OkStatus();
}

absl::Status AddFlatten(const Layer& l, nn::Sequential& seq) {
  FEDGE_ASSIGN_OR_RETURN(const int64_t start, l.Int("start_dim"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t end, l.Int("end_dim"));
  if (start != 1 || end != -1) return l.Error("only Flatten(start_dim=1, end_dim=-1) is supported");
  seq->push_back(nn::Flatten());
  return absl::OkStatus();
}

absl::Status AddGroupNorm(const Layer& l, nn::Sequential& seq) {
  FEDGE_ASSIGN_OR_RETURN(const int64_t groups, l.Int("num_groups"));
  FEDGE_ASSIGN_OR_RETURN(const int64_t channels, l.Int("num_channels"));
  FEDGE_ASSIGN_OR_RETURN(const double eps, l.Double("eps"));
  if (!l.Flag("affine")) return l.Error("only affine GroupNorm is supported");
  nn::GroupNorm norm(nn::GroupNormOptions(groups, channels).eps(eps));
  FEDGE_RETURN_IF_ERROR(CopyWeights(l, norm->weight, norm->bias));
  seq->push_back(norm);
  return absl::OkStatus();
}

// Translates the layers; `num_classes` is the width of the last Linear or Conv.
absl::StatusOr<nn::Sequential> Translate(const jit::Module& script, int64_t* num_classes) {
  nn::Sequential seq;
  for (const jit::NameModule& child : script.named_children()) {
    const Layer layer(child.value, child.name);
    const std::string kind = layer.kind();
    if (kind == "Conv2d") {
      FEDGE_RETURN_IF_ERROR(AddConv(layer, seq, num_classes));
    } else if (kind == "Linear") {
      FEDGE_RETURN_IF_ERROR(AddLinear(layer, seq, num_classes));
    } else if (kind == "ReLU") {
      seq->push_back(nn::ReLU());
    } else if (kind == "MaxPool2d") {
      FEDGE_RETURN_IF_ERROR(AddMaxPool(layer, seq));
    } else if (kind == "Flatten") {
      FEDGE_RETURN_IF_ERROR(AddFlatten(layer, seq));
    } else if (kind == "GroupNorm") {
      FEDGE_RETURN_IF_ERROR(AddGroupNorm(layer, seq));
    } else {
      return layer.Error("unsupported layer; supported: Conv2d, Linear, ReLU, MaxPool2d, Flatten, GroupNorm");
    }
  }
  if (seq->size() == 0) return absl::InvalidArgumentError("not an nn.Sequential of layers (no child modules)");
  return seq;
}

// The shape of one example: the extra file, else the first Linear's width.
absl::StatusOr<std::vector<int64_t>> ExampleShapeOf(const std::string& declared, nn::Sequential seq) {
  std::vector<int64_t> shape;
  std::istringstream in(declared);
  for (int64_t d; in >> d;) {
    if (d < 1 || d > (int64_t{1} << 20)) return absl::InvalidArgumentError(absl::StrCat(kExampleShapeFile, ": bad dimension ", d));
    shape.push_back(d);
  }
  if (!in.eof() || shape.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat(kExampleShapeFile, " must hold 1 to 3 positive integers, got '", declared, "'"));
  }
  if (!shape.empty()) return shape;
  if (const auto* linear = seq[0]->as<nn::Linear>()) return std::vector<int64_t>{linear->options.in_features()};
  return absl::InvalidArgumentError(absl::StrCat("the shape of one example is unknown: save the model with _extra_files={'",
                                                 kExampleShapeFile, "': '1 28 28'} (channels, height, width)"));
}

// The translation must compute what the file computes.
absl::Status CheckSameForward(jit::Module& script, nn::Sequential& seq, const std::vector<int64_t>& example) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> batch_shape{2};
  batch_shape.insert(batch_shape.end(), example.begin(), example.end());
  const torch::Tensor x = torch::randn(batch_shape, torch::TensorOptions().dtype(torch::kFloat));
  script.eval();
  const torch::Tensor want = script.forward({x}).toTensor();
  const torch::Tensor got = seq->forward(x);
  if (want.sizes() != got.sizes() || !torch::allclose(want, got, 1e-4, 1e-5)) {
    return absl::InvalidArgumentError(
        "its forward pass differs from fedge's translation of its layers (a layer with options fedge does not "
        "read?); export a plain nn.Sequential of the supported layers");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ImportedModel> ImportTorchScript(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat("TorchScript model '", path, "' not found"));
  }
  const auto fail = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("TorchScript model '", path, "': ", why));
  };
  try {
    jit::ExtraFilesMap extra{{kExampleShapeFile, ""}};
    jit::Module script = jit::load(path, torch::kCPU, extra);
    ImportedModel m;
    absl::StatusOr<nn::Sequential> seq = Translate(script, &m.num_classes);
    if (!seq.ok()) return fail(seq.status().message());
    absl::StatusOr<std::vector<int64_t>> example = ExampleShapeOf(extra[kExampleShapeFile], *seq);
    if (!example.ok()) return fail(example.status().message());
    if (absl::Status same = CheckSameForward(script, *seq, *example); !same.ok()) return fail(same.message());
    m.model = std::move(*seq);
    m.example_shape = std::move(*example);
    return m;
  } catch (const std::exception& e) {
    // c10::Error's message carries a C++ backtrace; its first line says what.
    std::string what = e.what();
    return fail(what.substr(0, what.find('\n')));
  }
}

}  // namespace fedge
