// Small hand-checked cases and the memory/count bounds of the robust
// aggregators (coordinate median, trimmed mean, Krum, Multi-Krum).
#include <vector>

#include "aggregation/coordinate_median.h"
#include "aggregation/krum.h"
#include "aggregation/testing/strategy_runner.h"
#include "aggregation/trimmed_mean.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::fedge::testing::CannedRound;
using ::fedge::testing::StrategyRunner;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

absl::StatusOr<std::vector<float>> Combine(Strategy& strategy, const CannedRound& round) {
  auto aggregator = strategy.BeginRound(static_cast<int64_t>(round.front().values.size()));
  for (const auto& u : round) {
    if (auto status = aggregator->Add(DenseUpdateView(u.values), u.weight); !status.ok()) return status;
  }
  return aggregator->Finish();
}

TEST(CoordinateMedianTest, OddAndEvenCountsIgnoreWeights) {
  CoordinateMedian median;
  auto odd = Combine(median, {{.values = {1, 9}, .weight = 1000}, {.values = {5, -3}}, {.values = {3, 4}}});
  ASSERT_TRUE(odd.ok());
  EXPECT_THAT(*odd, ElementsAre(FloatEq(3), FloatEq(4)));
  auto even = Combine(median, {{.values = {1, 9}}, {.values = {5, -3}}, {.values = {3, 4}}, {.values = {4, 0}}});
  ASSERT_TRUE(even.ok());
  EXPECT_THAT(*even, ElementsAre(FloatEq(3.5f), FloatEq(2)));
}

TEST(TrimmedMeanTest, TrimsFloorBetaNFromEachSide) {
  TrimmedMean trimmed(TrimmedMeanOptions{.trim_fraction = 0.2});  // n = 5 -> k = 1
  auto out = Combine(trimmed, {{.values = {1, -50}}, {.values = {2, 0}}, {.values = {3, 1}}, {.values = {4, 2}},
                               {.values = {100, 3}}});
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, ElementsAre(FloatEq(3), FloatEq(1)));
  TrimmedMean plain(TrimmedMeanOptions{.trim_fraction = 0});
  auto mean = Combine(plain, {{.values = {1}}, {.values = {2}}, {.values = {6}}});
  ASSERT_TRUE(mean.ok());
  EXPECT_THAT(*mean, ElementsAre(FloatEq(3)));
}

TEST(KrumTest, PicksTheMostCentralUpdate) {
  // f = 1, n = 5: each score sums the n - f - 2 = 2 nearest squared distances.
  // Scores: [0,0]:1+1=2, [1,0]:1+2=3, [0,1]:1+2=3, [-1,0]:1+2=3, [50,50]: huge.
  Krum krum(KrumOptions{.num_byzantine = 1});
  EXPECT_EQ(krum.name(), "krum");
  EXPECT_EQ(krum.min_updates(), 5);
  const CannedRound round = {
      {.values = {1, 0}}, {.values = {50, 50}}, {.values = {0, 0}}, {.values = {0, 1}}, {.values = {-1, 0}}};
  auto out = Combine(krum, round);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, ElementsAre(FloatEq(0), FloatEq(0)));
  // Multi-Krum m = 3 averages [0,0] and the two earliest of the tied
  // score-3 updates, [1,0] and [0,1].
  Krum multi(KrumOptions{.num_byzantine = 1, .num_selected = 3});
  EXPECT_EQ(multi.name(), "multikrum");
  auto avg = Combine(multi, round);
  ASSERT_TRUE(avg.ok());
  EXPECT_THAT(*avg, ElementsAre(FloatEq(1.0f / 3), FloatEq(1.0f / 3)));
  // m = 0 selects n - f = 4 updates: everything except the outlier.
  Krum all_honest(KrumOptions{.num_byzantine = 1, .num_selected = 0});
  auto honest = Combine(all_honest, round);
  ASSERT_TRUE(honest.ok());
  EXPECT_THAT(*honest, ElementsAre(FloatEq(0), FloatEq(0.25f)));
}

TEST(BufferedAggregatorTest, BoundsMemoryAndCounts) {
  CoordinateMedian median(CoordinateMedianOptions{.max_updates = 2});
  auto agg = median.BeginRound(2);
  std::vector<float> u = {1, 2};
  ASSERT_TRUE(agg->Add(DenseUpdateView(u), 1).ok());
  ASSERT_TRUE(agg->Add(DenseUpdateView(u), 1).ok());
  auto full = agg->Add(DenseUpdateView(u), 1);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("max_updates"));
  EXPECT_EQ(agg->num_updates(), 2);
  ASSERT_TRUE(agg->Finish().ok());
  EXPECT_EQ(agg->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(agg->Add(DenseUpdateView(u), 1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(BufferedAggregatorTest, RejectsBadInputAndTooFewUpdates) {
  Krum krum(KrumOptions{.num_byzantine = 2});  // needs n >= 7
  auto agg = krum.BeginRound(3);
  std::vector<float> good = {1, 2, 3}, bad = {1, 2};
  EXPECT_EQ(agg->Add(DenseUpdateView(bad), 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(agg->Add(DenseUpdateView(good), 0).code(), absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(agg->Add(DenseUpdateView(good), 1).ok());
  auto status = agg->Finish().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("at least 7"));
  EXPECT_EQ(CoordinateMedian().BeginRound(1)->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RobustOptionsTest, ValidateNamesTheField) {
  EXPECT_THAT(TrimmedMeanOptions{.trim_fraction = 0.5}.Validate().message(), HasSubstr("trim_fraction"));
  EXPECT_THAT(CoordinateMedianOptions{.max_updates = 0}.Validate().message(), HasSubstr("max_updates"));
  EXPECT_THAT(KrumOptions{.num_byzantine = -1}.Validate().message(), HasSubstr("num_byzantine"));
  EXPECT_THAT((KrumOptions{.num_byzantine = 3, .max_updates = 8}.Validate().message()), HasSubstr(">= 9"));
  EXPECT_THAT((KrumOptions{.num_selected = 20, .max_updates = 10}.Validate().message()), HasSubstr(">= 20"));
  EXPECT_EQ((KrumOptions{.num_byzantine = 1, .num_selected = 10}.MinUpdates()), 10);
}

TEST(RobustStrategiesTest, ApplyScalesByServerLearningRate) {
  TrimmedMean trimmed(TrimmedMeanOptions{.server_learning_rate = 0.5});
  StrategyRunner runner(trimmed, {1, 1});
  ASSERT_TRUE(runner.RunRound({{.values = {2, -2}}}).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatEq(2), FloatEq(0)));
}

}  // namespace
}  // namespace fedge
