#include "aggregation/fedavg.h"

#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;

TEST(FedAvgTest, WeightedMeanOfDeltasIsAddedToGlobal) {
  FedAvg fedavg;
  auto agg = fedavg.BeginRound(2);
  std::vector<float> a = {1, 2}, b = {4, -4};
  ASSERT_TRUE(agg->Add(DenseUpdateView(a), 1).ok());
  ASSERT_TRUE(agg->Add(DenseUpdateView(b), 3).ok());
  auto delta = agg->Finish();
  ASSERT_TRUE(delta.ok());
  EXPECT_THAT(*delta, ElementsAre(FloatEq(3.25f), FloatEq(-2.5f)));
  std::vector<float> global = {10, 10};
  ASSERT_TRUE(fedavg.Apply(*delta, absl::MakeSpan(global)).ok());
  EXPECT_THAT(global, ElementsAre(FloatEq(13.25f), FloatEq(7.5f)));
}

TEST(FedAvgTest, ServerLearningRateScalesTheStep) {
  FedAvg fedavg(FedAvgOptions{.server_learning_rate = 0.5});
  std::vector<float> global = {0, 0};
  std::vector<float> delta = {2, -2};
  ASSERT_TRUE(fedavg.Apply(delta, absl::MakeSpan(global)).ok());
  EXPECT_THAT(global, ElementsAre(FloatEq(1), FloatEq(-1)));
}

TEST(FedAvgTest, RejectsWrongSizeAndEmptyRounds) {
  FedAvg fedavg;
  auto agg = fedavg.BeginRound(3);
  std::vector<float> short_update = {1, 2};
  EXPECT_EQ(agg->Add(DenseUpdateView(short_update), 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(agg->Finish().status().code(), absl::StatusCode::kFailedPrecondition);
}

// A checkpointed round goes on exactly as the one saved.
TEST(FedAvgTest, RestoredAggregatorFinishesBitForBitLikeTheSavedOne) {
  FedAvg fedavg;
  auto saved = fedavg.BeginRound(2);
  std::vector<float> a = {1.f / 3, 1e7f}, b = {0.1f, -3.f};
  ASSERT_TRUE(saved->Add(DenseUpdateView(a), 3).ok());
  std::optional<AggregatorState> state = saved->SaveState();
  ASSERT_TRUE(state.has_value());
  auto restored = fedavg.BeginRound(2);
  ASSERT_TRUE(restored->RestoreState(*state).ok());
  EXPECT_EQ(restored->num_updates(), 1);
  ASSERT_TRUE(saved->Add(DenseUpdateView(b), 7).ok());
  ASSERT_TRUE(restored->Add(DenseUpdateView(b), 7).ok());
  EXPECT_EQ(*restored->Finish(), *saved->Finish());
}

TEST(FedAvgTest, AStateOfAnotherSizeIsRefused) {
  FedAvg fedavg;
  auto two = fedavg.BeginRound(2);
  auto three = fedavg.BeginRound(3);
  EXPECT_EQ(three->RestoreState(*two->SaveState()).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(three->RestoreState(AggregatorState{{0, 0, 0}, {-1, 0}}).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fedge
