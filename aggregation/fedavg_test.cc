#include "aggregation/fedavg.h"

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

}  // namespace
}  // namespace fedge
