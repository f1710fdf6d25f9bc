// Conformance suite in the style of ggml's test-backend-ops: every strategy,
// in several configurations, runs over the same shared random cases
// (fixed seeds) and must match its slow Eigen reference
// (testing/reference_strategies.h) after every round.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/strings/str_cat.h"
#include "aggregation/strategy_registry.h"
#include "aggregation/testing/reference_strategies.h"
#include "aggregation/testing/strategy_runner.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::fedge::testing::CannedRound;
using ::fedge::testing::ReferenceStrategy;
using ::fedge::testing::StrategyRunner;

struct SharedCase {
  std::string label;
  int num_updates;
  int num_elements;
  int num_rounds;
  uint64_t seed;
  bool heavy_tailed;  // Cauchy-distributed values: outliers in every round
};

const std::vector<SharedCase>& SharedCases() {
  static const auto* const kCases = new std::vector<SharedCase>{
      {"one_update", 1, 5, 3, 101, false},     {"two_updates", 2, 17, 3, 102, false},
      {"odd_small", 7, 33, 3, 103, false},     {"even_medium", 12, 300, 3, 104, false},
      {"heavy_tailed", 15, 64, 3, 105, true},  {"wide", 25, 1000, 2, 106, false},
      {"block_edges", 9, 1025, 2, 107, false},
  };
  return *kCases;
}

struct GeneratedRound {
  CannedRound canned;
  Eigen::MatrixXd updates;
  Eigen::VectorXd weights;
};

GeneratedRound Generate(const SharedCase& c, SeededRandom& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::cauchy_distribution<double> cauchy(0.0, 1.0);
  std::uniform_int_distribution<int> examples(1, 100);
  GeneratedRound round;
  round.updates.resize(c.num_updates, c.num_elements);
  round.weights.resize(c.num_updates);
  for (int i = 0; i < c.num_updates; ++i) {
    testing::CannedUpdate update{.values = std::vector<float>(c.num_elements), .weight = double(examples(rng))};
    for (int j = 0; j < c.num_elements; ++j) {
      // The reference sees exactly the float values the strategy sees.
      update.values[j] = static_cast<float>(c.heavy_tailed ? cauchy(rng) : normal(rng));
      round.updates(i, j) = update.values[j];
    }
    round.weights(i) = update.weight;
    round.canned.push_back(std::move(update));
  }
  return round;
}

class ConformanceTest : public ::testing::TestWithParam<testing::ReferenceOptions> {};

TEST_P(ConformanceTest, MatchesReferenceOnSharedCases) {
  const testing::ReferenceOptions& options = GetParam();
  int cases_run = 0;
  for (const SharedCase& c : SharedCases()) {
    SCOPED_TRACE(c.label);
    auto strategy = CreateStrategy(testing::ToStrategyToml(options));
    ASSERT_TRUE(strategy.ok()) << strategy.status();
    if (c.num_updates < (*strategy)->min_updates()) continue;
    ++cases_run;
    ReferenceStrategy reference(options);
    SeededRandom rng(c.seed);
    std::vector<float> initial(c.num_elements);
    for (float& v : initial) v = std::normal_distribution<float>(0, 1)(rng);
    StrategyRunner runner(**strategy, initial);
    Eigen::VectorXd expected = Eigen::Map<const Eigen::VectorXf>(initial.data(), c.num_elements).cast<double>();
    for (int r = 0; r < c.num_rounds; ++r) {
      GeneratedRound round = Generate(c, rng);
      ASSERT_TRUE(runner.RunRound(round.canned).ok()) << "round " << r;
      reference.Apply(reference.Combine(round.updates, round.weights), expected);
      const double tolerance = 1e-5 * std::max(1.0, expected.cwiseAbs().maxCoeff());
      for (int j = 0; j < c.num_elements; ++j) {
        ASSERT_NEAR(runner.global()[j], expected(j), tolerance) << "round " << r << " element " << j;
      }
    }
  }
  EXPECT_GT(cases_run, 0);
}

std::vector<testing::ReferenceOptions> AllConfigurations() {
  std::vector<testing::ReferenceOptions> all;
  for (const std::string& name : RegisteredStrategyNames()) all.push_back(testing::ReferenceOptions{.name = name});
  all.push_back({.name = "fedavg", .server_learning_rate = 0.5});
  all.push_back({.name = "fedadam", .server_learning_rate = 0.05, .beta1 = 0.0, .tau = 1e-2});
  all.push_back({.name = "fedyogi", .server_learning_rate = 0.3, .beta2 = 0.5});
  all.push_back({.name = "fedavgm", .server_momentum = 0.0});
  all.push_back({.name = "trimmed_mean", .trim_fraction = 0.0});
  all.push_back({.name = "trimmed_mean", .trim_fraction = 0.3});
  all.push_back({.name = "krum", .num_byzantine = 2});
  all.push_back({.name = "multikrum", .num_byzantine = 1, .num_selected = 3});
  all.push_back({.name = "multikrum", .num_byzantine = 3, .num_selected = 0});
  return all;
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, ConformanceTest, ::testing::ValuesIn(AllConfigurations()),
                         [](const ::testing::TestParamInfo<testing::ReferenceOptions>& info) {
                           return absl::StrCat(info.index, "_", testing::DescribeReferenceOptions(info.param));
                         });

}  // namespace
}  // namespace fedge
