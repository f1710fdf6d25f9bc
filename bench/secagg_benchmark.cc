// Secure aggregation (secagg/) at the size of issue 20's target: n = 100
// clients, d = 18,000 int8 (or int4) codes, ring bits chosen for n
// (8 + ceil(log2 100) = 15; 4 + 7 = 11 for int4), k = 14 neighbours
// (2 ceil(log2 n)), threshold t = 8 (> k/2). One
// benchmark iteration is one whole round run in memory; the reported time is
// the server's CPU time (the thread CPU time spent inside ServerSession:
// manual time, robust to a loaded machine; server_wall_ms is its wall time),
// client_ms the mean CPU time of one client, and counters give the bytes per
// client against plain int8 and int4 uploads of the same vector
// (compression/README.md: 4·ceil(d/256) + d bytes, 4·ceil(d/256) + ceil(d/2)
// bytes).
//
//   build/bench/secagg_benchmark --benchmark_min_time=2
//
// Args: {percent of clients dropping after the share exchange, i.e. the
// dropouts whose pairwise masks the server must reconstruct and remove;
// code bits, 8 or 4}.
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "secagg/params.h"
#include "secagg/ring_codes.h"
#include "secagg/testing/round_driver.h"

namespace fedge::secagg {
namespace {

constexpr uint32_t kClients = 100;
constexpr uint64_t kLength = 18000;

void BM_SecAggRound(benchmark::State& state) {
  testing::RoundOptions options;
  const int code_bits = static_cast<int>(state.range(1));
  options.params = SecAggParams{.round_id = 1, .num_clients = kClients, .neighbours = 14, .threshold = 8,
                                .vector_length = kLength, .ring_bits = *RingBitsFor(code_bits, kClients),
                                .graph_seed = 7};
  options.drop_after[1] = static_cast<double>(state.range(0)) / 100;
  // Codes shifted into the ring (CodesToRing): 0 .. 2^bits - 2 covers them.
  const auto inputs = testing::RandomInputs(kClients, kLength, (uint64_t{1} << code_bits) - 2, 3);
  double server_seconds = 0, server_wall_seconds = 0, client_seconds = 0, upload_bytes = 0, download_bytes = 0;
  int rounds = 0;
  for (auto _ : state) {
    const testing::RoundOutcome outcome = testing::RunRound(options, inputs);
    if (!outcome.result.ok()) {
      state.SkipWithError(outcome.result.status().ToString().c_str());
      return;
    }
    const double server = absl::ToDoubleSeconds(outcome.server_costs.TotalCpuTime());
    state.SetIterationTime(server);
    server_seconds += server;
    server_wall_seconds += absl::ToDoubleSeconds(outcome.server_costs.TotalTime());
    // Per-client figures over the clients that completed the round.
    double sent = 0, received = 0, cpu = 0;
    for (uint32_t u : outcome.result->contributors) {
      sent += static_cast<double>(outcome.client_costs[u].TotalBytesSent());
      received += static_cast<double>(outcome.client_costs[u].TotalBytesReceived());
      cpu += absl::ToDoubleSeconds(outcome.client_costs[u].TotalCpuTime());
    }
    const double contributors = static_cast<double>(outcome.result->contributors.size());
    upload_bytes += sent / contributors;
    download_bytes += received / contributors;
    client_seconds += cpu / contributors;
    ++rounds;
  }
  const double plain_int8 = 4.0 * ((kLength + 255) / 256) + kLength;
  const double plain_int4 = 4.0 * ((kLength + 255) / 256) + (kLength + 1) / 2;
  state.counters["server_ms"] = 1e3 * server_seconds / rounds;
  state.counters["server_wall_ms"] = 1e3 * server_wall_seconds / rounds;
  state.counters["client_ms"] = 1e3 * client_seconds / rounds;
  state.counters["upload_B"] = upload_bytes / rounds;
  state.counters["download_B"] = download_bytes / rounds;
  state.counters["plain_int8_B"] = plain_int8;
  state.counters["plain_int4_B"] = plain_int4;
  state.counters["upload_x_int8"] = upload_bytes / rounds / plain_int8;
  state.counters["upload_x_int4"] = upload_bytes / rounds / plain_int4;
}
BENCHMARK(BM_SecAggRound)
    ->ArgNames({"drop_pct", "bits"})
    ->Args({0, 8})
    ->Args({10, 8})
    ->Args({0, 4})
    ->Args({10, 4})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedge::secagg

BENCHMARK_MAIN();
