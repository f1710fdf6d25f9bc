#include "privacy/dpsgd/per_example_gradients.h"

#include <torch/torch.h>

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "privacy/dpsgd/im2col.h"

namespace fedge {
namespace {

namespace nn = torch::nn;

enum class LayerKind { kStateless, kLinear, kConv2d, kGroupNorm };

// One entry of the Sequential, with what Compute captured for it.
struct Layer {
  LayerKind kind = LayerKind::kStateless;
  std::shared_ptr<nn::GroupNormImpl> group_norm;
  Conv2dGeometry geometry;  // Conv2d only
  torch::Tensor weight;     // undefined for parameter-free layers
  torch::Tensor bias;       // undefined when the layer has none

  torch::Tensor input;         // the layer's input activation (detached)
  torch::Tensor a;             // Linear/Conv2d: A [B, D, L]
  torch::Tensor g;             // Linear/Conv2d: G = δ as [B, P, L]
  torch::Tensor im2col;        // reused im2col output buffer (Conv2d)
  torch::Tensor weight_grads;  // per-example, [B, P, D] or GroupNorm [B, C]; lazily formed
  torch::Tensor bias_grads;    // per-example, [B, P]
};

bool IsParameterFree(const std::shared_ptr<nn::Module>& m) {
  return std::dynamic_pointer_cast<nn::ReLUImpl>(m) || std::dynamic_pointer_cast<nn::MaxPool2dImpl>(m) ||
         std::dynamic_pointer_cast<nn::FlattenImpl>(m);
}

std::string Unsupported(size_t index, const nn::Module& m, std::string_view why) {
  return absl::StrCat("DP-SGD cannot compute per-example gradients for layer ", index, " (", m.name(), "): ",
                      AsAbsl(why),
                      "; supported layers are Linear, Conv2d, GroupNorm, ReLU, MaxPool2d and Flatten");
}

// Fills `layer` from module `m` at `index`; returns an error message or "".
std::string Classify(size_t index, const std::shared_ptr<nn::Module>& m, Layer& layer) {
  if (IsParameterFree(m)) return "";
  if (auto linear = std::dynamic_pointer_cast<nn::LinearImpl>(m)) {
    layer.kind = LayerKind::kLinear;
    layer.weight = linear->weight;
    layer.bias = linear->bias;
    return "";
  }
  if (auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(m)) {
    const auto& o = conv->options;
    if (o.groups() != 1) return Unsupported(index, *m, "grouped convolution");
    if (!c10::holds_alternative<torch::enumtype::kZeros>(o.padding_mode())) {
      return Unsupported(index, *m, "padding mode other than zeros");
    }
    if (const auto* explicit_padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding())) {
      layer.geometry.padding = **explicit_padding;
    } else if (!c10::holds_alternative<torch::enumtype::kValid>(o.padding())) {
      return Unsupported(index, *m, "'same' padding");
    }
    layer.geometry.kernel = *o.kernel_size();
    layer.geometry.stride = *o.stride();
    layer.geometry.dilation = *o.dilation();
    layer.kind = LayerKind::kConv2d;
    layer.weight = conv->weight;
    layer.bias = conv->bias;
    return "";
  }
  if (auto gn = std::dynamic_pointer_cast<nn::GroupNormImpl>(m)) {
    if (!gn->options.affine()) return "";  // no parameters
    layer.kind = LayerKind::kGroupNorm;
    layer.group_norm = gn;
    layer.weight = gn->weight;
    layer.bias = gn->bias;
    return "";
  }
  return Unsupported(index, *m, "unsupported layer type");
}

// Sets A and G of a Linear or Conv2d layer from its captured input and δ.
void BuildFactors(Layer& l, const torch::Tensor& delta) {
  const int64_t batch = delta.size(0);
  if (l.kind == LayerKind::kLinear) {
    const int64_t d = l.weight.size(1), p = l.weight.size(0);
    if (l.input.dim() == 2) {
      l.a = l.input.unsqueeze(2);
      l.g = delta.unsqueeze(2);
    } else {  // a sequence dimension: positions play the role of L
      l.a = l.input.reshape({batch, -1, d}).transpose(1, 2);
      l.g = delta.reshape({batch, -1, p}).transpose(1, 2);
    }
  } else {
    l.a = Im2Col(l.input, l.geometry, l.im2col);
    l.g = delta.reshape({batch, l.weight.size(0), -1});
  }
  if (l.bias.defined()) l.bias_grads = l.g.sum(2);
}

void BuildGroupNormGrads(Layer& l, const torch::Tensor& delta) {
  const auto& o = l.group_norm->options;
  const int64_t batch = delta.size(0), channels = o.num_channels();
  torch::Tensor x_hat = at::group_norm(l.input, o.num_groups(), {}, {}, o.eps()).reshape({batch, channels, -1});
  torch::Tensor d = delta.reshape({batch, channels, -1});
  l.weight_grads = (d * x_hat).sum(2);
  l.bias_grads = d.sum(2);
}

// Chooses the Gram form when it is cheaper than materialising g_W.
bool UseGram(const Layer& l, NormMethod method) {
  if (l.kind == LayerKind::kGroupNorm || l.weight_grads.defined()) return false;
  if (method != NormMethod::kAuto) return method == NormMethod::kGram;
  const int64_t d = l.a.size(1), length = l.a.size(2), p = l.g.size(1);
  return length * (d + p) < p * d;
}

void MaterializeWeight(Layer& l) {
  if (!l.weight_grads.defined()) l.weight_grads = torch::bmm(l.g, l.a.transpose(1, 2));
}

// ‖G[n] A[n]ᵀ‖² = ⟨A[n]ᵀA[n], G[n]ᵀG[n]⟩, [B].
torch::Tensor GramSquaredNorms(const Layer& l) {
  if (l.a.size(2) == 1) return l.a.square().sum({1, 2}) * l.g.square().sum({1, 2});
  torch::Tensor aa = torch::bmm(l.a.transpose(1, 2), l.a);
  torch::Tensor gg = torch::bmm(l.g.transpose(1, 2), l.g);
  return (aa * gg).sum({1, 2});
}

// One reduction pass, no squared temporary of the (possibly large) input.
torch::Tensor RowSquaredNorms(const torch::Tensor& t) {
  return at::linalg_vector_norm(t.reshape({t.size(0), -1}), 2, {1}).square();
}

template <typename F>
auto CatchTorch(const char* what, F&& f) -> absl::StatusOr<decltype(f())> {
  try {
    return f();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("LibTorch error in ", what, ": ", e.what()));
  }
}

}  // namespace

struct PerExampleGradients::State {
  torch::nn::Sequential model;
  NormMethod method = NormMethod::kAuto;
  std::vector<Layer> layers;  // one per entry of the Sequential
  int64_t batch = 0;
};

PerExampleGradients::PerExampleGradients(std::unique_ptr<State> state) : state_(std::move(state)) {}
PerExampleGradients::PerExampleGradients(PerExampleGradients&&) = default;
PerExampleGradients& PerExampleGradients::operator=(PerExampleGradients&&) = default;
PerExampleGradients::~PerExampleGradients() = default;

absl::StatusOr<PerExampleGradients> PerExampleGradients::Create(torch::nn::Sequential model, NormMethod method) {
  if (model.is_empty() || model->is_empty()) return absl::InvalidArgumentError("DP-SGD needs a non-empty model");
  auto state = std::make_unique<State>();
  state->model = model;
  state->method = method;
  std::vector<torch::Tensor> ours;
  for (size_t i = 0; i < model->size(); ++i) {
    Layer layer;
    if (std::string error = Classify(i, model->ptr(i), layer); !error.empty()) {
      return absl::InvalidArgumentError(error);
    }
    for (const torch::Tensor& t : {layer.weight, layer.bias}) {
      if (!t.defined()) continue;
      if (!t.requires_grad()) {
        return absl::InvalidArgumentError(
            absl::StrCat("layer ", i, " (", model->ptr(i)->name(), ") has a frozen parameter; DP-SGD trains all"));
      }
      ours.push_back(t);
    }
    state->layers.push_back(std::move(layer));
  }
  // Our order must be model->parameters()'s: WeightedSum and Materialize
  // answer in that order. A layer with extra parameters would break it.
  const std::vector<torch::Tensor> params = model->parameters();
  bool same = params.size() == ours.size();
  for (size_t i = 0; same && i < params.size(); ++i) same = params[i].is_same(ours[i]);
  if (!same) return absl::InvalidArgumentError("model has parameters outside its Linear/Conv2d/GroupNorm layers");
  return PerExampleGradients(std::move(state));
}

int64_t PerExampleGradients::batch_size() const { return state_->batch; }

absl::StatusOr<double> PerExampleGradients::Compute(const torch::Tensor& images, const torch::Tensor& labels) {
  if (!images.defined() || images.dim() < 2 || images.size(0) == 0) {
    return absl::InvalidArgumentError("images must be a non-empty batch [B, ...]");
  }
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != images.size(0) ||
      labels.scalar_type() != torch::kInt64) {
    return absl::InvalidArgumentError(absl::StrCat("labels must be int64 [", images.size(0), "]"));
  }
  State& s = *state_;
  s.batch = 0;
  return CatchTorch("per-example gradient pass", [&]() -> double {
    std::vector<torch::Tensor> outputs;  // of parametrised layers, in order
    torch::Tensor x = images;
    size_t i = 0;
    for (auto& module : *s.model) {
      Layer& l = s.layers[i++];
      l.weight_grads = l.bias_grads = l.a = l.g = torch::Tensor();
      if (l.kind != LayerKind::kStateless) l.input = x.detach();
      x = module.forward(x);
      if (l.kind != LayerKind::kStateless) outputs.push_back(x);
    }
    torch::Tensor loss = nn::functional::cross_entropy(
        x, labels, nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    // Gradients w.r.t. the layer outputs only: autograd then skips the
    // parameter gradients, which the closed forms below replace.
    std::vector<torch::Tensor> deltas = torch::autograd::grad({loss}, outputs, {}, /*retain_graph=*/false,
                                                              /*create_graph=*/false, /*allow_unused=*/true);
    torch::NoGradGuard no_grad;
    size_t k = 0;
    for (Layer& l : s.layers) {
      if (l.kind == LayerKind::kStateless) continue;
      torch::Tensor delta = deltas[k].defined() ? deltas[k] : torch::zeros_like(outputs[k]);
      ++k;
      if (l.kind == LayerKind::kGroupNorm) {
        BuildGroupNormGrads(l, delta);
      } else {
        BuildFactors(l, delta);
      }
      l.input = torch::Tensor();
    }
    s.batch = images.size(0);
    return loss.item<double>();
  });
}

absl::StatusOr<torch::Tensor> PerExampleGradients::Norms() {
  State& s = *state_;
  if (s.batch == 0) return absl::FailedPreconditionError("Norms() needs a successful Compute() first");
  return CatchTorch("per-example norms", [&] {
    torch::NoGradGuard no_grad;
    torch::Tensor squared;
    for (Layer& l : s.layers) {
      if (l.kind == LayerKind::kStateless) continue;
      torch::Tensor layer_sq;
      if (UseGram(l, s.method)) {
        layer_sq = GramSquaredNorms(l);
      } else {
        MaterializeWeight(l);
        layer_sq = RowSquaredNorms(l.weight_grads);
      }
      if (l.bias_grads.defined()) layer_sq += RowSquaredNorms(l.bias_grads);
      squared = squared.defined() ? squared + layer_sq : layer_sq;
    }
    return squared.sqrt();
  });
}

absl::StatusOr<std::vector<torch::Tensor>> PerExampleGradients::WeightedSum(const torch::Tensor& weights) {
  State& s = *state_;
  if (s.batch == 0) return absl::FailedPreconditionError("WeightedSum() needs a successful Compute() first");
  if (!weights.defined() || weights.dim() != 1 || weights.size(0) != s.batch) {
    return absl::InvalidArgumentError(absl::StrCat("weights must have shape [", s.batch, "]"));
  }
  return CatchTorch("weighted gradient sum", [&] {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> sums;
    for (Layer& l : s.layers) {
      if (l.kind == LayerKind::kStateless) continue;
      const torch::Tensor w = weights.to(l.weight.scalar_type()).reshape({1, s.batch});
      if (l.weight_grads.defined()) {
        sums.push_back(torch::mm(w, l.weight_grads.reshape({s.batch, -1})).view(l.weight.sizes()));
      } else {
        // Σ_n w_n G[n] A[n]ᵀ as one contraction over (example, position).
        torch::Tensor scaled = l.g * w.reshape({s.batch, 1, 1});
        sums.push_back(torch::tensordot(scaled, l.a, {0, 2}, {0, 2}).view(l.weight.sizes()));
      }
      if (l.bias.defined()) sums.push_back(torch::mm(w, l.bias_grads).view(l.bias.sizes()));
    }
    return sums;
  });
}

absl::StatusOr<std::vector<torch::Tensor>> PerExampleGradients::Materialize() {
  State& s = *state_;
  if (s.batch == 0) return absl::FailedPreconditionError("Materialize() needs a successful Compute() first");
  return CatchTorch("per-example gradient materialisation", [&] {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> grads;
    auto shaped = [&](const torch::Tensor& t, const torch::Tensor& param) {
      std::vector<int64_t> shape{s.batch};
      shape.insert(shape.end(), param.sizes().begin(), param.sizes().end());
      return t.reshape(shape);
    };
    for (Layer& l : s.layers) {
      if (l.kind == LayerKind::kStateless) continue;
      if (l.kind != LayerKind::kGroupNorm) MaterializeWeight(l);
      grads.push_back(shaped(l.weight_grads, l.weight));
      if (l.bias.defined()) grads.push_back(shaped(l.bias_grads, l.bias));
    }
    return grads;
  });
}

}  // namespace fedge
