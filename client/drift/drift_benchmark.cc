// Update throughput of each drift detector on a stationary loss stream, so
// the cost per served example can be compared with inference itself. The
// ratios between detectors (same run) are what the README quotes.
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "absl/strings/str_cat.h"
#include "client/drift/detector_registry.h"
#include "core/random.h"

namespace fedge {
namespace {

void BM_Update(benchmark::State& state, const char* name) {
  constexpr size_t kValues = 1 << 16;
  SeededRandom rng(1);
  std::normal_distribution<double> noise(0.3, 0.1);
  std::vector<double> values(kValues);
  for (double& v : values) v = noise(rng);
  std::unique_ptr<DriftDetector> detector =
      ParseDetectorSpec(absl::StrCat("name = \"", name, "\"")).value().create();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(detector->Update(values[i]));
    i = (i + 1) & (kValues - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Update, page_hinkley, "page_hinkley");
BENCHMARK_CAPTURE(BM_Update, adwin, "adwin");
BENCHMARK_CAPTURE(BM_Update, ddm, "ddm");

}  // namespace
}  // namespace fedge

BENCHMARK_MAIN();
