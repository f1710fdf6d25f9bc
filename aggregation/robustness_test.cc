// Byzantine robustness property: when 20% of a round's updates are replaced
// by sign-flipped, x10 copies, the robust aggregators stay close to the mean
// of the honest updates while FedAvg is dragged far away (here it even
// points the wrong way).
#include <cmath>
#include <random>
#include <vector>

#include "aggregation/strategy_registry.h"
#include "aggregation/testing/reference_strategies.h"
#include "aggregation/testing/strategy_runner.h"
#include "core/params.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::fedge::testing::CannedRound;
using ::fedge::testing::StrategyRunner;

constexpr int kDevices = 20;
constexpr int kByzantine = 4;  // 20%
constexpr int kElements = 256;

struct AttackedRound {
  CannedRound updates;
  std::vector<float> honest_mean;
};

// Honest updates are mu + N(0, 0.05^2) with |mu_j| in [0.5, 1.5]; the first
// kByzantine devices send -10 times their honest update instead.
AttackedRound MakeAttackedRound(uint64_t seed) {
  SeededRandom rng(seed);
  std::uniform_real_distribution<float> magnitude(0.5f, 1.5f);
  std::bernoulli_distribution negative(0.5);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  std::vector<float> mu(kElements);
  for (float& m : mu) m = negative(rng) ? -magnitude(rng) : magnitude(rng);
  AttackedRound round;
  round.honest_mean.assign(kElements, 0.0f);
  for (int d = 0; d < kDevices; ++d) {
    std::vector<float> update(kElements);
    for (int j = 0; j < kElements; ++j) update[j] = mu[j] + noise(rng);
    if (d < kByzantine) {
      for (float& v : update) v *= -10.0f;
    } else {
      for (int j = 0; j < kElements; ++j) round.honest_mean[j] += update[j] / (kDevices - kByzantine);
    }
    // Attackers also claim many examples; robust aggregators must not care.
    round.updates.push_back({.values = std::move(update), .weight = d < kByzantine ? 1000.0 : 10.0});
  }
  return round;
}

double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  std::vector<float> diff(got.size());
  for (size_t i = 0; i < got.size(); ++i) diff[i] = got[i] - want[i];
  return std::sqrt(SquaredNorm(diff) / SquaredNorm(want));
}

double ErrorUnderAttack(const testing::ReferenceOptions& options, uint64_t seed) {
  auto strategy = CreateStrategy(testing::ToStrategyToml(options));
  EXPECT_TRUE(strategy.ok()) << strategy.status();
  if (!strategy.ok()) return INFINITY;
  AttackedRound round = MakeAttackedRound(seed);
  StrategyRunner runner(**strategy, std::vector<float>(kElements, 0.0f));
  const absl::Status status = runner.RunRound(round.updates);
  EXPECT_TRUE(status.ok()) << status;
  return RelativeError(runner.global(), round.honest_mean);
}

class RobustnessTest : public ::testing::TestWithParam<testing::ReferenceOptions> {};

TEST_P(RobustnessTest, StaysCloseToTheHonestMean) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    EXPECT_LT(ErrorUnderAttack(GetParam(), seed), 0.15) << GetParam().name << " seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Robust, RobustnessTest,
    ::testing::Values(testing::ReferenceOptions{.name = "median"},
                      testing::ReferenceOptions{.name = "trimmed_mean", .trim_fraction = 0.2},
                      testing::ReferenceOptions{.name = "krum", .num_byzantine = kByzantine},
                      testing::ReferenceOptions{.name = "multikrum", .num_byzantine = kByzantine}),
    [](const ::testing::TestParamInfo<testing::ReferenceOptions>& info) { return info.param.name; });

TEST(RobustnessTest, FedAvgIsDraggedAway) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    // Unweighted it would be -1.2 * mu; the attackers' claimed weights make it
    // worse still.
    EXPECT_GT(ErrorUnderAttack(testing::ReferenceOptions{.name = "fedavg"}, seed), 1.0) << "seed " << seed;
  }
}

}  // namespace
}  // namespace fedge
