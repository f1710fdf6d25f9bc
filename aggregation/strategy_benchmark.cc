// Aggregation throughput per strategy: one full round of 100 updates of 100k
// parameters (add all + finish + apply), reported as updates/s and
// parameter-updates/s (items) so strategies can be compared in one run:
//   strategy_benchmark --benchmark_min_time=0.1
#include <random>
#include <string>
#include <vector>

#include "aggregation/strategy_registry.h"
#include "benchmark/benchmark.h"
#include "core/random.h"

namespace fedge {
namespace {

constexpr int kUpdates = 100;
constexpr int kElements = 100'000;

const std::vector<std::vector<float>>& Updates() {
  static const auto* const kUpdatesData = [] {
    auto* updates = new std::vector<std::vector<float>>(kUpdates, std::vector<float>(kElements));
    SeededRandom rng(42);
    std::normal_distribution<float> normal(0.0f, 0.01f);
    for (auto& u : *updates) {
      for (float& v : u) v = normal(rng);
    }
    return updates;
  }();
  return *kUpdatesData;
}

void BM_Round(benchmark::State& state, const char* strategy_toml) {
  const auto& updates = Updates();
  auto strategy = CreateStrategy(strategy_toml);
  if (!strategy.ok()) {
    state.SkipWithError(std::string(strategy.status().message()).c_str());
    return;
  }
  std::vector<float> global(kElements, 0.0f);
  for (auto _ : state) {
    auto aggregator = (*strategy)->BeginRound(kElements);
    for (const auto& u : updates) {
      if (!aggregator->Add(DenseUpdateView(u), 10.0).ok()) state.SkipWithError("Add failed");
    }
    auto delta = aggregator->Finish();
    if (!delta.ok() || !(*strategy)->Apply(*delta, absl::MakeSpan(global)).ok()) state.SkipWithError("round failed");
    benchmark::DoNotOptimize(global.data());
  }
  state.SetItemsProcessed(state.iterations() * int64_t{kUpdates} * kElements);
  state.counters["rounds/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_Round, fedavg, "name = \"fedavg\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, fedprox, "name = \"fedprox\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, fedadam, "name = \"fedadam\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, fedyogi, "name = \"fedyogi\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, fedadagrad, "name = \"fedadagrad\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, fedavgm, "name = \"fedavgm\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, median, "name = \"median\"")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, trimmed_mean, "name = \"trimmed_mean\"\n[trimmed_mean]\ntrim_fraction = 0.1")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, krum, "name = \"krum\"\n[krum]\nnum_byzantine = 20")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Round, multikrum, "name = \"multikrum\"\n[multikrum]\nnum_byzantine = 20")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedge

BENCHMARK_MAIN();
