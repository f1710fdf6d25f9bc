// Reference vs optimised kernels on the student CNN (conv 1->8 k5, relu,
// maxpool2, conv 8->16 k5, relu, maxpool2, flatten, linear 256->10), one
// thread, batch 1 and 32. Items/s counts images; compare the two kernel sets
// within one run.
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/artifact.h"
#include "inference/engine.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

std::unique_ptr<InferenceEngine> LoadStudent(KernelSet kernels) {
  static const SigningKey* key = new SigningKey(testing::GenerateTestKey());
  static const std::string* bytes =
      new std::string(*SignArtifact(*testing::BuildCalibrated(testing::StudentCnn(1), 32, 2), *key));
  return *InferenceEngine::Load(*bytes, key->verify_key(), EngineOptions{kernels, {}});
}

void BM_StudentClassify(benchmark::State& state) {
  const KernelSet kernels = state.range(0) == 0 ? KernelSet::kReference : KernelSet::kOptimized;
  const int batch = static_cast<int>(state.range(1));
  std::unique_ptr<InferenceEngine> engine = LoadStudent(kernels);
  const std::vector<float> inputs = testing::RandomNormal(static_cast<size_t>(784) * batch, 1.0f, 3);
  std::vector<float> probs(static_cast<size_t>(10) * batch);
  std::vector<int> labels(batch);
  for (auto _ : state) {
    if (!engine->ClassifyBatch(inputs, absl::MakeSpan(probs), absl::MakeSpan(labels)).ok()) {
      state.SkipWithError("ClassifyBatch failed");
      break;
    }
    benchmark::DoNotOptimize(labels.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(kernels == KernelSet::kReference ? "reference" : "optimized");
}
BENCHMARK(BM_StudentClassify)->ArgNames({"optimized", "batch"})->ArgsProduct({{0, 1}, {1, 32}});

}  // namespace
}  // namespace fedge

BENCHMARK_MAIN();
