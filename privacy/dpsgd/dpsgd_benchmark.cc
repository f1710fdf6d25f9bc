// DP-SGD step vs plain SGD step on cnn_small, one thread, in one run. The
// ratios are printed at the end (target: DP-SGD <= 1.5x plain).
//
//   ./build-dpsgd/bench/dpsgd_benchmark
//
// BM_DpSgdStep/<batch>/<method>: method 0 = auto (cheaper norm per layer,
// what the trainer uses), 1 = materialise every per-example gradient.
// Ratios use CPU time of the benchmark thread, which the load of other
// processes on a shared machine distorts far less than wall time; for that
// to count all the work, LibTorch and OpenBLAS are both held to one thread.
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <string>

#include "benchmark/benchmark.h"
#include "core/random.h"
#include "models/threads.h"
#include "models/zoo.h"
#include "privacy/dpsgd/dpsgd_trainer.h"

namespace fedge {
namespace {

struct Batch {
  torch::Tensor images, labels;
};

Batch MakeBatch(int64_t b) {
  torch::manual_seed(1);
  return {torch::randn({b, 1, 28, 28}), torch::randint(0, 10, {b}, torch::kInt64)};
}

constexpr double kLr = 0.05, kMomentum = 0.9;

void BM_PlainStep(benchmark::State& state) {
  const int64_t b = state.range(0);
  Batch batch = MakeBatch(b);
  torch::nn::Sequential model = CreateModel("cnn_small", 1).value();
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(kLr).momentum(kMomentum));
  for (auto _ : state) {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(batch.images), batch.labels).backward();
    sgd.step();
  }
  state.SetItemsProcessed(state.iterations() * b);
}

void BM_DpSgdStep(benchmark::State& state) {
  const int64_t b = state.range(0);
  Batch batch = MakeBatch(b);
  torch::nn::Sequential model = CreateModel("cnn_small", 1).value();
  DpSgdOptions options{.clip_norm = 1.0,
                       .noise_multiplier = 1.0,
                       .expected_batch_size = b,
                       .learning_rate = kLr,
                       .momentum = kMomentum,
                       .norm_method = static_cast<NormMethod>(state.range(1))};
  auto trainer = DpSgdTrainer::Create(model, options, 60000, SecureRandom::Default());
  if (!trainer.ok()) {
    state.SkipWithError(std::string(trainer.status().message()).c_str());
    return;
  }
  for (auto _ : state) {
    auto stats = (*trainer)->Step(batch.images, batch.labels);
    if (!stats.ok()) {
      state.SkipWithError(std::string(stats.status().message()).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * b);
}

BENCHMARK(BM_PlainStep)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond)->MinTime(1.0);
// Method 2 (Gram everywhere) is not run: on conv1 (L = 576 positions) it
// forms B Gram matrices of 576x576, ~20x a plain step. It is a reference
// the tests check the auto choice against, never what a trainer uses.
BENCHMARK(BM_DpSgdStep)
    ->ArgsProduct({{64, 256}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(1.0);

// Prints DP-SGD / plain time ratios after the usual table.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (!r.error_occurred) seconds_[r.run_name.function_name + "/" + r.run_name.args] = r.GetAdjustedCPUTime();
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    static const char* kMethods[] = {"auto", "materialise", "gram"};
    for (int b : {64, 256}) {
      auto plain = seconds_.find("BM_PlainStep/" + std::to_string(b));
      if (plain == seconds_.end()) continue;
      for (int m = 0; m < 3; ++m) {
        auto dp = seconds_.find("BM_DpSgdStep/" + std::to_string(b) + "/" + std::to_string(m));
        if (dp == seconds_.end()) continue;
        std::printf("batch %3d  DP-SGD (%s) / plain SGD step = %.2fx (CPU time)\n", b, kMethods[m],
                    dp->second / plain->second);
      }
    }
  }

 private:
  std::map<std::string, double> seconds_;
};

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  // One thread in LibTorch and in OpenBLAS: BLAS worker threads would do
  // work the CPU time does not see.
  fedge::SetComputeThreads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fedge::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
