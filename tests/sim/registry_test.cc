// The registries end to end: a strategy, a value codec stage and a drift
// detector that exist only in tests/sim/test_registrations.cc (no other file
// names them) are chosen by name in scenario text and run in the simulator
// on real Fashion-MNIST through the real Federation and Device agents.
#include <cmath>
#include <string>

#include "core/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/scenario.h"
#include "simulations/simulator.h"
#include "simulations/testing/small_data.h"
#include "tests/sim/test_registrations.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// Shared by both runs: a few devices, a few examples each.
constexpr char kSmallFederation[] = R"(
name = "registry"
seed = 7
model.name = "cnn_small"
federation.devices_per_round = 2
training.batch_size = 20
[population]
num_devices = 4
[data]
max_examples_per_device = 60
[run]
workers = 2
)";

class RegistryRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(3000, 300);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }
  static void TearDownTestSuite() { delete data_; }

  // `top`: top-level keys, which TOML needs before the first table.
  static Scenario Parse(const std::string& top, const std::string& tables) {
    absl::StatusOr<Scenario> scenario = ParseScenario(top + kSmallFederation + tables, "registry.toml",
                                                      {.known_models = {}, .require_data_dir = false});
    EXPECT_TRUE(scenario.ok()) << scenario.status();
    return scenario.ok() ? *std::move(scenario) : Scenario();
  }

  static SimulationData* data_;
};

SimulationData* RegistryRunTest::data_ = nullptr;

TEST_F(RegistryRunTest, TestOnlyStrategyAndValueStageRunInTheSimulator) {
  const Scenario scenario = Parse("federation.rounds = 2\ntraining.codec = \"test_counted_fp32\"\n", R"(
[strategy]
name = "test_halving_mean"
[strategy.test_halving_mean]
server_learning_rate = 1.0
)");
  ASSERT_EQ(scenario.strategy.name, testing::kTestStrategy);
  EXPECT_EQ(ScenarioToJson(scenario)["strategy"]["name"], testing::kTestStrategy);
  const int64_t applies = testing::TestStrategyApplies(), encodes = testing::TestStageEncodes(),
                parses = testing::TestStageParses();

  auto rows = testing::RunAllRounds(scenario, *data_);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  for (const RoundRow& row : *rows) {
    EXPECT_TRUE(row.succeeded) << "round " << row.round;
    EXPECT_EQ(row.participants, 2);
    EXPECT_TRUE(std::isfinite(row.test_accuracy));
  }
  // Every round went through the test strategy; every update was encoded by
  // the devices and parsed by the coordinator through the test stage.
  EXPECT_EQ(testing::TestStrategyApplies() - applies, 2);
  EXPECT_GE(testing::TestStageEncodes() - encodes, 4);
  EXPECT_GE(testing::TestStageParses() - parses, 4);
}

TEST_F(RegistryRunTest, TestOnlyDetectorRunsOnEverySimulatedDevice) {
  const Scenario scenario = Parse("federation.rounds = 3\n", R"(
[drift]
kind = "rotation"
devices = [0, 1]
start_round = 3
observe_examples = 40
window = 80
reservoir = 40
train_examples = 60
eval_examples = 200
[drift.detector]
name = "test_always"
reference_examples = 0
cooldown_samples = 0
[drift.detector.test_always]
after = 10
)");
  ASSERT_EQ(scenario.drift.detector.name, testing::kTestDetector);
  const int64_t updates = testing::TestDetectorUpdates();
  auto rows = testing::RunAllRounds(scenario, *data_);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_GT(testing::TestDetectorUpdates() - updates, 0);
  // The detector fires after 10 values on every device, so the coordinator
  // hears alarms.
  int64_t alarms = 0;
  for (const RoundRow& row : *rows) alarms += row.drift_alarms;
  EXPECT_GT(alarms, 0);
}

TEST(RegistryParseTest, UnregisteredNamesListTheTestOnesToo) {
  absl::StatusOr<Scenario> bad =
      ParseScenario("[strategy]\nname = \"nope\"\n", "bad.toml", {.known_models = {}, .require_data_dir = false});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(testing::kTestStrategy));
  absl::StatusOr<Scenario> codec = ParseScenario("[training]\ncodec = \"nope\"\n", "bad.toml", {.known_models = {}, .require_data_dir = false});
  ASSERT_FALSE(codec.ok());
  EXPECT_THAT(codec.status().message(), HasSubstr(testing::kTestValueStage));
}

}  // namespace
}  // namespace fedge
