// int8_vs_torch_benchmark: one forward pass of the distillation student
// (zoo `cnn_student`: conv 1->8 k5 + relu, maxpool 2, conv 8->16 k5 + relu,
// maxpool 2, flatten, linear 256->10) on one thread, batch 1 and 32, by
//   * Int8Runtime: fedge's integer-only InferenceEngine (optimised kernels),
//     float input -> quantise -> int8 graph -> softmax, loaded from the
//     signed artifact produced by compression/model's PTQ;
//   * TorchFp32: the LibTorch module's forward under NoGradGuard;
//   * TorchQuantized: LibTorch's own quantized CPU engine (FBGEMM, or
//     QNNPACK if FBGEMM is missing) called op by op through the dispatcher
//     (quantized::conv2d_relu / quantized::linear with prepacked per-channel
//     int8 weights, quantized max_pool2d), with the same activation scales.
// Compare the per-batch times of the same run: the ratio is the figure.
#include <torch/torch.h>

#include <ATen/core/dispatch/Dispatcher.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "compression/model/int8_quantizer.h"
#include "core/artifact.h"
#include "inference/engine.h"
#include "models/zoo.h"

namespace fedge {
namespace {

constexpr int kMaxBatch = 32;

c10::IValue CallOp(const char* name, const char* overload, std::vector<c10::IValue> stack) {
  c10::Dispatcher::singleton().findSchemaOrThrow(name, overload).callBoxed(&stack);
  return stack.at(0);
}

// The student in LibTorch's quantized engine: weights quantised per output
// channel (qint8, symmetric) and prepacked, activations quint8 with the
// fedge calibration's scales (zero point shifted by 128).
class TorchQuantizedStudent {
 public:
  TorchQuantizedStudent(torch::nn::Sequential& model, const Int8Calibration& cal) {
    auto* conv1 = model->ptr(0)->as<torch::nn::Conv2d>();
    auto* conv2 = model->ptr(3)->as<torch::nn::Conv2d>();
    auto* fc = model->ptr(7)->as<torch::nn::Linear>();
    input_ = cal.input;
    conv1_out_ = cal.outputs[0];
    conv2_out_ = cal.outputs[2];
    fc_out_ = cal.outputs[5];
    conv1_ = PackConv(conv1->weight, conv1->bias);
    conv2_ = PackConv(conv2->weight, conv2->bias);
    fc_ = CallOp("quantized::linear_prepack", "", {QuantizeWeights(fc->weight), c10::optional<at::Tensor>(fc->bias.detach())});
  }

  torch::Tensor Forward(const torch::Tensor& x) const {
    torch::Tensor q = at::quantize_per_tensor(x, input_.scale, input_.zero_point + 128, torch::kQUInt8);
    q = CallOp("quantized::conv2d_relu", "new", {q, conv1_, double{conv1_out_.scale}, int64_t{conv1_out_.zero_point + 128}})
            .toTensor();
    q = at::max_pool2d(q, {2, 2}, {2, 2}, {0, 0}, {1, 1});
    q = CallOp("quantized::conv2d_relu", "new", {q, conv2_, double{conv2_out_.scale}, int64_t{conv2_out_.zero_point + 128}})
            .toTensor();
    q = at::max_pool2d(q, {2, 2}, {2, 2}, {0, 0}, {1, 1}).reshape({x.size(0), -1});
    q = CallOp("quantized::linear", "", {q, fc_, double{fc_out_.scale}, int64_t{fc_out_.zero_point + 128}}).toTensor();
    return q.dequantize();
  }

 private:
  static torch::Tensor QuantizeWeights(const torch::Tensor& w) {
    const torch::Tensor flat = w.detach().reshape({w.size(0), -1});
    const torch::Tensor scales = (std::get<0>(flat.abs().max(1)) / 127).clamp_min(1e-8).to(torch::kDouble);
    return at::quantize_per_channel(w.detach(), scales, torch::zeros({w.size(0)}, torch::kLong), 0, torch::kQInt8);
  }
  static c10::IValue PackConv(const torch::Tensor& w, const torch::Tensor& b) {
    return CallOp("quantized::conv2d_prepack", "",
                  {QuantizeWeights(w), c10::optional<at::Tensor>(b.detach()), c10::List<int64_t>({1, 1}),
                   c10::List<int64_t>({0, 0}), c10::List<int64_t>({1, 1}), int64_t{1}});
  }

  ActivationQuant input_, conv1_out_, conv2_out_, fc_out_;
  c10::IValue conv1_, conv2_, fc_;
};

struct Fixture {
  torch::nn::Sequential model{nullptr};
  torch::Tensor images;
  std::unique_ptr<InferenceEngine> engine;
  std::unique_ptr<TorchQuantizedStudent> torch_quantized;
  std::string torch_quantized_error;

  Fixture() {
    torch::set_num_threads(1);
    torch::manual_seed(5);
    model = *CreateModel("cnn_student", 1);
    model->eval();
    images = torch::randn({kMaxBatch, 1, 28, 28});
    const SigningKey key = *SigningKey::Generate();
    const Int8Calibration cal = *CalibrateActivations(model, images, QuantizeOptions{});
    auto body = QuantizeToInt8(model, images, QuantizeOptions{}, proto::ArtifactHeader{});
    engine = std::move(*InferenceEngine::Load(*SignArtifact(*body, key), key.verify_key(), EngineOptions{}));
    try {
      const auto engines = at::globalContext().supportedQEngines();
      const bool fbgemm = std::find(engines.begin(), engines.end(), at::QEngine::FBGEMM) != engines.end();
      at::globalContext().setQEngine(fbgemm ? at::QEngine::FBGEMM : at::QEngine::QNNPACK);
      torch_quantized = std::make_unique<TorchQuantizedStudent>(model, cal);
      torch::NoGradGuard no_grad;
      const torch::Tensor agree = torch_quantized->Forward(images).argmax(1).eq(model->forward(images).argmax(1));
      std::fprintf(stderr, "LibTorch quantized engine %s (%zu supported): argmax agreement with fp32 %.2f\n",
                   fbgemm ? "FBGEMM" : "QNNPACK", engines.size(), agree.to(torch::kFloat).mean().item<float>());
    } catch (const std::exception& e) {
      torch_quantized_error = e.what();
      torch_quantized.reset();
    }
  }
};

Fixture& Get() {
  static Fixture* f = new Fixture();
  return *f;
}

void BM_Int8Runtime(benchmark::State& state) {
  Fixture& f = Get();
  const int batch = static_cast<int>(state.range(0));
  const torch::Tensor x = f.images.slice(0, 0, batch).contiguous();
  absl::Span<const float> in(x.data_ptr<float>(), static_cast<size_t>(x.numel()));
  std::vector<float> probs(static_cast<size_t>(batch * f.engine->num_classes()));
  std::vector<int> labels(static_cast<size_t>(batch));
  for (auto _ : state) {
    absl::Status s = f.engine->ClassifyBatch(in, absl::MakeSpan(probs), absl::MakeSpan(labels));
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(labels.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_TorchFp32(benchmark::State& state) {
  Fixture& f = Get();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = f.images.slice(0, 0, state.range(0)).contiguous();
  for (auto _ : state) {
    torch::Tensor y = f.model->forward(x);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void BM_TorchQuantized(benchmark::State& state) {
  Fixture& f = Get();
  if (f.torch_quantized == nullptr) {
    state.SkipWithError(("LibTorch quantized engine unavailable: " + f.torch_quantized_error).c_str());
    return;
  }
  torch::NoGradGuard no_grad;
  const torch::Tensor x = f.images.slice(0, 0, state.range(0)).contiguous();
  for (auto _ : state) {
    torch::Tensor y = f.torch_quantized->Forward(x);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_Int8Runtime)->Arg(1)->Arg(kMaxBatch);
BENCHMARK(BM_TorchFp32)->Arg(1)->Arg(kMaxBatch);
BENCHMARK(BM_TorchQuantized)->Arg(1)->Arg(kMaxBatch);

}  // namespace
}  // namespace fedge

BENCHMARK_MAIN();
