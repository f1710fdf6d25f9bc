// Encode and decode-and-accumulate throughput of every codec on a 1M-element
// update, next to the memory-bandwidth bound measured in the same binary: a
// plain `acc += w * x` over 1M floats. At the end the binary prints each
// codec's decode-and-accumulate time relative to that plain add.
//
//   build-*/bench/codec_benchmark --benchmark_min_time=0.2

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "compression/codec.h"
#include "compression/encoder.h"
#include "core/random.h"

namespace fedge {
namespace {

constexpr int64_t kN = 1 << 20;
constexpr float kWeight = 0.25f;
const char* const kSpecs[] = {"fp32",  "fp16",      "int8",      "int4",           "sign",
                              "topk:0.01", "topk:0.01>int8", "int8>zstd", "topk:0.01>int8>zstd"};

std::vector<float> Delta() {
  SeededRandom rng(1);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  std::vector<float> x(kN);
  for (float& v : x) v = normal(rng);
  return x;
}

void BM_PlainAdd(benchmark::State& state) {
  const std::vector<float> x = Delta();
  std::vector<float> acc(kN, 0.0f);
  for (auto _ : state) {
    const float* __restrict src = x.data();
    float* __restrict a = acc.data();
    for (int64_t i = 0; i < kN; ++i) a[i] += kWeight * src[i];
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kN);
}

void BM_Encode(benchmark::State& state, const std::string& spec) {
  const std::vector<float> x = Delta();
  auto encoder = UpdateEncoder::Create(spec, kN);
  SeededRandom rng(2);
  size_t bytes = 0;
  for (auto _ : state) {
    auto payload = (*encoder)->Encode(x, rng);
    bytes = payload->size();
    benchmark::DoNotOptimize(payload->data());
  }
  state.SetItemsProcessed(state.iterations() * kN);
  state.counters["ratio"] = CompressionRatio(bytes, kN);
}

void BM_DecodeAccumulate(benchmark::State& state, const std::string& spec) {
  const std::vector<float> x = Delta();
  auto encoder = UpdateEncoder::Create(spec, kN);
  SeededRandom rng(3);
  const std::string payload = *(*encoder)->Encode(x, rng);
  std::vector<float> acc(kN, 0.0f);
  for (auto _ : state) {
    auto view = DecodeUpdate(spec, payload, kN);
    if (!view.ok()) state.SkipWithError("decode failed");
    (*view)->AccumulateInto(absl::MakeSpan(acc), kWeight);
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kN);
  state.counters["ratio"] = CompressionRatio(payload.size(), kN);
}

// Prints the usual table, then every decode-and-accumulate CPU time divided by
// the plain add's from the same run (CPU time, like items_per_second, because
// the machine may be shared; 1.0 = as fast as the bandwidth
// bound).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) times_[run.benchmark_name()] = run.GetAdjustedCPUTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const auto plain = times_.find("BM_PlainAdd");
    if (plain == times_.end()) return;
    std::printf("\ndecode-and-accumulate time / plain float add time (same run):\n");
    for (const auto& [name, time] : times_) {
      if (name.rfind("BM_DecodeAccumulate/", 0) == 0) {
        std::printf("  %-40s %6.2fx\n", name.c_str() + 20, time / plain->second);
      }
    }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RegisterBenchmark("BM_PlainAdd", fedge::BM_PlainAdd);
  for (const char* spec : fedge::kSpecs) {
    benchmark::RegisterBenchmark((std::string("BM_Encode/") + spec).c_str(), fedge::BM_Encode, std::string(spec));
  }
  for (const char* spec : fedge::kSpecs) {
    benchmark::RegisterBenchmark((std::string("BM_DecodeAccumulate/") + spec).c_str(), fedge::BM_DecodeAccumulate,
                                 std::string(spec));
  }
  fedge::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
