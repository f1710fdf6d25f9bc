// End-to-end tests of scenario variants (one run, combined report) and of
// differential privacy in the simulator ([dp] ledgers, [client_dp]), on a
// few hundred Fashion-MNIST examples.
#include <filesystem>

#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/testing/small_data.h"
#include "simulations/run_variants.h"
#include "simulations/simulator.h"
#include "simulations/variants.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class VariantsDpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(2000, 300);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  // Five devices of 60 examples, all of them every round.
  static Scenario Small() {
    Scenario s;
    s.name = "dp";
    s.seed = 5;
    s.federation.rounds = 3;
    s.population.num_devices = 5;
    s.federation.devices_per_round = 5;
    s.federation.over_selection = 1.0;
    s.data.max_examples_per_device = 60;
    s.training.batch_size = 20;
    return s;
  }

  static absl::StatusOr<std::vector<RoundRow>> Run(const Scenario& s) { return testing::RunAllRounds(s, *data_); }

  static SimulationData* data_;
};

SimulationData* VariantsDpTest::data_ = nullptr;

TEST_F(VariantsDpTest, SampleLevelEpsilonIsPositiveAndGrowsEveryRound) {
  Scenario s = Small();
  s.dp = {.enabled = true, .noise_multiplier = 1.0, .clip_norm = 1.0, .device_epsilon = 50, .delta = 1e-5};
  s.client_dp = {.enabled = true, .clip_norm = 5, .noise_multiplier = 0.5};
  auto rows = Run(s);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  double previous = 0, previous_client = 0;
  for (const RoundRow& r : *rows) {
    EXPECT_TRUE(r.succeeded);
    EXPECT_EQ(r.participants, 5);
    EXPECT_GT(r.epsilon_device_median, previous) << "round " << r.round;
    EXPECT_EQ(r.epsilon_device_median, r.epsilon_device_max);  // every device trained every round
    EXPECT_GT(r.client_epsilon, previous_client);
    previous = r.epsilon_device_median;
    previous_client = r.client_epsilon;
  }
  // Without DP the columns stay empty.
  auto plain = Run(Small());
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(std::isnan(plain->back().epsilon_device_median));
  EXPECT_TRUE(std::isnan(plain->back().client_epsilon));
}

TEST_F(VariantsDpTest, DevicesRefuseTasksBeyondTheirLifetimeBudget) {
  Scenario s = Small();
  s.federation.min_quorum = 1;
  // Tasks of 3 steps at q = 1/3, sigma = 1 bring eps at 1e-5 to 5.20, 6.84
  // and 8.11 (fedge-dp epsilon): a budget of 7.5 admits two and refuses the third.
  s.dp = {.enabled = true, .noise_multiplier = 1.0, .clip_norm = 1.0, .device_epsilon = 7.5, .delta = 1e-5};
  auto rows = Run(s);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].participants, 5);
  EXPECT_EQ((*rows)[1].participants, 5);
  EXPECT_EQ((*rows)[2].participants, 0);  // budget spent: refused, not an error
  EXPECT_FALSE((*rows)[2].succeeded);
  EXPECT_LE((*rows)[2].epsilon_device_max, 7.5);
  EXPECT_NEAR((*rows)[1].epsilon_device_max, 6.843, 0.01);
  EXPECT_EQ((*rows)[2].epsilon_device_max, (*rows)[1].epsilon_device_max);
}

TEST_F(VariantsDpTest, TwoVariantsRunWithTheSameSeedIntoOneReport) {
  const std::string out = (std::filesystem::temp_directory_path() / "fedge-variants-e2e").string();
  std::filesystem::remove_all(out);
  auto set = ParseScenarioSet(absl::StrCat(R"(
name = "pair"
seed = 11
base_variant = "fp32"
[population]
num_devices = 4
[federation]
rounds = 2
devices_per_round = 2
[data]
max_examples_per_device = 40
[training]
batch_size = 20
[run]
out_dir = ")",
                                           out, R"("
[[variant]]
name = "int8"
training.codec = "int8"
)"),
                              "pair.toml");
  ASSERT_TRUE(set.ok()) << set.status();
  auto report = RunScenarioSet(*set, {.out = nullptr});
  ASSERT_TRUE(report.ok()) << report.status();
  for (const char* file : {"/pair/fp32/rounds.csv", "/pair/int8/rounds.csv", "/pair/fp32/report.html",
                           "/pair/report.html", "/pair/summary.json"}) {
    EXPECT_TRUE(std::filesystem::exists(out + file)) << file;
  }
  const nlohmann::json summary = report->Summary();
  ASSERT_EQ(summary["variants"].size(), 2u);
  const nlohmann::json& fp32 = summary["variants"][0];
  const nlohmann::json& int8 = summary["variants"][1];
  // Same seed: the same model download traffic (same cohorts), a quarter of the upload.
  EXPECT_EQ(fp32["bytes_down"], int8["bytes_down"]);
  EXPECT_GT(int8["upload_reduction_vs_base"].get<double>(), 3.5);
  EXPECT_GT(int8["compression_ratio"].get<double>(), 3.5);
  EXPECT_LT(fp32["compression_ratio"].get<double>(), 1.0);  // the message header costs a little
  EXPECT_GT(fp32["compression_ratio"].get<double>(), 0.95);
  auto html = ReadFile(out + "/pair/report.html");
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, HasSubstr("href=\"int8/report.html\""));
  auto csv = ReadFile(out + "/pair/int8/rounds.csv");
  ASSERT_TRUE(csv.ok());
  EXPECT_THAT(*csv, HasSubstr("compression_ratio,epsilon_device_median"));
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace fedge
