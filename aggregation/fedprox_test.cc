#include "aggregation/fedprox.h"

#include <vector>

#include "aggregation/fedavg.h"
#include "aggregation/testing/strategy_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::fedge::testing::CannedRound;
using ::fedge::testing::StrategyRunner;

TEST(FedProxTest, SetsProximalMuAndLeavesTheRestOfTheTask) {
  FedProx prox(FedProxOptions{.proximal_mu = 0.25});
  proto::TrainConfig config;
  config.set_learning_rate(0.05);
  prox.ConfigureTrain(3, config);
  EXPECT_DOUBLE_EQ(config.proximal_mu(), 0.25);
  EXPECT_DOUBLE_EQ(config.learning_rate(), 0.05);
}

TEST(FedProxTest, AggregatesExactlyLikeFedAvg) {
  const std::vector<CannedRound> rounds = {
      {{.values = {1, 2, 3}, .weight = 2}, {.values = {-1, 0, 5}, .weight = 6}},
      {{.values = {0.5f, 0.5f, -0.5f}, .weight = 1}}};
  FedProx prox(FedProxOptions{.proximal_mu = 1.0, .server_learning_rate = 0.7});
  FedAvg avg(FedAvgOptions{.server_learning_rate = 0.7});
  StrategyRunner a(prox, {1, 1, 1}), b(avg, {1, 1, 1});
  ASSERT_TRUE(a.RunRounds(rounds).ok());
  ASSERT_TRUE(b.RunRounds(rounds).ok());
  EXPECT_EQ(a.global(), b.global());
  EXPECT_DOUBLE_EQ(a.last_train_config().proximal_mu(), 1.0);
  EXPECT_DOUBLE_EQ(b.last_train_config().proximal_mu(), 0.0);
}

TEST(FedProxTest, RejectsNegativeMu) {
  auto status = FedProxOptions{.proximal_mu = -0.1}.Validate();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("proximal_mu"));
}

}  // namespace
}  // namespace fedge
