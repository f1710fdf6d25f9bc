#include "aggregation/strategy_factory.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

TEST(StrategyFactoryTest, CreatesEveryKnownNameWithDefaults) {
  ASSERT_EQ(KnownStrategyNames().size(), 10u);
  for (const std::string& name : KnownStrategyNames()) {
    auto strategy = CreateStrategy(StrategyOptions{.name = name});
    ASSERT_TRUE(strategy.ok()) << name << ": " << strategy.status();
    EXPECT_EQ((*strategy)->name(), name);
  }
}

TEST(StrategyFactoryTest, UnknownNameListsTheKnownOnes) {
  auto strategy = CreateStrategy(StrategyOptions{.name = "fedsgd"});
  EXPECT_EQ(strategy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(strategy.status().message(), HasSubstr("fedsgd"));
  EXPECT_THAT(strategy.status().message(), HasSubstr("trimmed_mean"));
}

TEST(StrategyFactoryTest, ValidatesOnlyTheChosenStrategysOptions) {
  auto expect_invalid = [](const StrategyOptions& options, const std::string& field) {
    auto strategy = CreateStrategy(options);
    EXPECT_EQ(strategy.status().code(), absl::StatusCode::kInvalidArgument) << options.name;
    EXPECT_THAT(strategy.status().message(), HasSubstr(field)) << options.name;
  };
  expect_invalid({.name = "fedavg", .server_learning_rate = 0.0}, "server_learning_rate");
  expect_invalid({.name = "fedprox", .proximal_mu = -1}, "proximal_mu");
  expect_invalid({.name = "fedadam", .beta1 = 1.0}, "beta1");
  expect_invalid({.name = "fedyogi", .beta2 = -0.1}, "beta2");
  expect_invalid({.name = "fedadagrad", .tau = 0}, "tau");
  expect_invalid({.name = "fedavgm", .server_momentum = 1.5}, "server_momentum");
  expect_invalid({.name = "trimmed_mean", .trim_fraction = 0.5}, "trim_fraction");
  expect_invalid({.name = "median", .max_updates = 0}, "max_updates");
  expect_invalid({.name = "krum", .num_byzantine = 10, .max_updates = 20}, "max_updates");
  expect_invalid({.name = "multikrum", .num_selected = -2}, "num_selected");
  expect_invalid({.name = "multikrum", .num_selected = 1}, "krum");
  // beta1 belongs to the FedOpt family; FedAvg ignores it.
  EXPECT_TRUE(CreateStrategy(StrategyOptions{.name = "fedavg", .beta1 = 7}).ok());
}

TEST(StrategyFactoryTest, KrumMinUpdatesFollowsTheOptions) {
  auto krum = CreateStrategy(StrategyOptions{.name = "krum", .num_byzantine = 3, .num_selected = 9});
  ASSERT_TRUE(krum.ok());
  EXPECT_EQ((*krum)->min_updates(), 9);  // 2f + 3; num_selected is ignored for krum
  auto multi = CreateStrategy(StrategyOptions{.name = "multikrum", .num_byzantine = 1, .num_selected = 12});
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ((*multi)->min_updates(), 12);
}

TEST(StrategyFactoryTest, FedProxConfiguresTheDevices) {
  auto prox = CreateStrategy(StrategyOptions{.name = "fedprox", .proximal_mu = 0.3});
  ASSERT_TRUE(prox.ok());
  proto::TrainConfig config;
  (*prox)->ConfigureTrain(0, config);
  EXPECT_DOUBLE_EQ(config.proximal_mu(), 0.3);
}

}  // namespace
}  // namespace fedge
