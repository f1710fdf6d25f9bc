// File: aggregation/testing/strategy_runner.h
//
// `StrategyRunner` drives a Strategy through whole rounds with canned
// updates, the way TFLM's KernelRunner drives one kernel without an
// interpreter: ConfigureTrain, BeginRound, Add every update, Finish, Apply.
// Test-only (target fedge::aggregation_testing).
//
// Usage:
//   FedAdam strategy;
//   StrategyRunner runner(strategy, /*initial_global=*/{0, 0});
//   ASSERT_TRUE(runner.RunRound({{.values = {1, 2}, .weight = 3}}).ok());
//   EXPECT_THAT(runner.global(), ...);
//
// Thread-safety: not thread-safe.
#ifndef FEDGE_AGGREGATION_TESTING_STRATEGY_RUNNER_H_
#define FEDGE_AGGREGATION_TESTING_STRATEGY_RUNNER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "aggregation/strategy.h"

namespace fedge::testing {

// One device's reply: a dense delta and its aggregation weight.
struct CannedUpdate {
  std::vector<float> values;
  double weight = 1;
};
using CannedRound = std::vector<CannedUpdate>;

class StrategyRunner {
 public:
  // `strategy` is borrowed and must outlive the runner.
  StrategyRunner(Strategy& strategy, std::vector<float> initial_global)
      : strategy_(strategy), global_(std::move(initial_global)) {}

  // One full round; the global model changes only when every step succeeds.
  // Returns the first error of Add, Finish or Apply unchanged.
  absl::Status RunRound(const CannedRound& round);
  // RunRound for each round in order; stops at the first error.
  absl::Status RunRounds(const std::vector<CannedRound>& rounds);

  const std::vector<float>& global() const { return global_; }
  // The combined delta of the last successful round.
  const std::vector<float>& last_delta() const { return last_delta_; }
  // What ConfigureTrain wrote for the last round started.
  const proto::TrainConfig& last_train_config() const { return last_train_config_; }
  uint64_t rounds_run() const { return rounds_run_; }

 private:
  Strategy& strategy_;
  std::vector<float> global_;
  std::vector<float> last_delta_;
  proto::TrainConfig last_train_config_;
  uint64_t rounds_run_ = 0;
};

}  // namespace fedge::testing

#endif  // FEDGE_AGGREGATION_TESTING_STRATEGY_RUNNER_H_
