// File: secagg/testing/round_driver.h
//
// Runs a whole secure-aggregation round in memory (one ServerSession, n
// ClientSessions, messages passed as bytes) with clients dropping out after
// chosen stages. For the tests and the benchmark; deterministic for a seed.
//
// Thread-safety: stateless functions.
#ifndef FEDGE_SECAGG_TESTING_ROUND_DRIVER_H_
#define FEDGE_SECAGG_TESTING_ROUND_DRIVER_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "secagg/costs.h"
#include "secagg/params.h"
#include "secagg/server_session.h"

namespace fedge::secagg::testing {

struct RoundOptions {
  SecAggParams params;
  // Fraction of the clients still in the round that go silent right after
  // sending their message of each stage (0 advertise, 1 share, 2 masked
  // input); rounded to the nearest count.
  double drop_after[3] = {0, 0, 0};
  uint64_t seed = 1;  // client randomness and the choice of who drops
  // Sees every masked input the server receives (sender, bytes).
  std::function<void(uint32_t, absl::string_view)> on_masked_input;
};

struct RoundOutcome {
  absl::StatusOr<SecAggResult> result = absl::UnknownError("not run");
  std::vector<uint64_t> expected_sum;  // plain sum of the contributors' inputs (when result is OK)
  SessionCosts server_costs;
  std::vector<SessionCosts> client_costs;
};

// inputs[i] is client i's vector (vector_length elements < 2^ring_bits).
RoundOutcome RunRound(const RoundOptions& options, const std::vector<std::vector<uint64_t>>& inputs);

// Uniform random inputs in [0, max_value] for n clients (fixed seed).
std::vector<std::vector<uint64_t>> RandomInputs(uint32_t n, uint64_t length, uint64_t max_value, uint64_t seed);

}  // namespace fedge::secagg::testing

#endif  // FEDGE_SECAGG_TESTING_ROUND_DRIVER_H_
