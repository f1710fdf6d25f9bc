#include "aggregation/strategy_registry.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::unique_ptr<Strategy>> Create(const std::string& name, const std::string& options = "") {
  return CreateStrategy(absl::StrCat("name = \"", name, "\"\n[", name, "]\n", options));
}

TEST(StrategyRegistryTest, EveryBuiltInStrategyRegistersItselfAndBuildsWithDefaults) {
  // fedge::aggregation is linked as a whole archive, so every strategy's
  // registration runs although this test names none of their classes.
  EXPECT_THAT(RegisteredStrategyNames(),
              ::testing::IsSupersetOf({"fedadagrad", "fedadam", "fedavg", "fedavgm", "fedprox", "fedyogi", "krum",
                                       "median", "multikrum", "trimmed_mean"}));
  for (const std::string& name : RegisteredStrategyNames()) {
    auto strategy = CreateStrategy(absl::StrCat("name = \"", name, "\""));
    ASSERT_TRUE(strategy.ok()) << name << ": " << strategy.status();
    EXPECT_EQ((*strategy)->name(), name);
  }
}

TEST(StrategyRegistryTest, DefaultsToFedAvgWithItsOptionStructDefaults) {
  auto spec = ParseStrategySpec("");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "fedavg");
  ASSERT_EQ(spec->options.size(), 1u);
  EXPECT_EQ(spec->options[0].second, FedAvgOptions{}.server_learning_rate);
}

TEST(StrategyRegistryTest, UnknownNameListsTheRegisteredOnes) {
  auto strategy = CreateStrategy("name = \"fedsgd\"");
  EXPECT_EQ(strategy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(strategy.status().message(), HasSubstr("fedsgd"));
  EXPECT_THAT(strategy.status().message(), HasSubstr("trimmed_mean"));
}

TEST(StrategyRegistryTest, ValidatesTheStrategysOwnOptions) {
  auto expect_invalid = [](const std::string& name, const std::string& options, const std::string& field) {
    auto strategy = Create(name, options);
    EXPECT_EQ(strategy.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(strategy.status().message(), HasSubstr(field)) << name;
  };
  expect_invalid("fedavg", "server_learning_rate = 0.0", "server_learning_rate");
  expect_invalid("fedprox", "proximal_mu = -1", "proximal_mu");
  expect_invalid("fedadam", "beta1 = 1.0", "beta1");
  expect_invalid("fedyogi", "beta2 = -0.1", "beta2");
  expect_invalid("fedadagrad", "tau = 0", "tau");
  expect_invalid("fedavgm", "server_momentum = 1.5", "server_momentum");
  expect_invalid("trimmed_mean", "trim_fraction = 0.5", "trim_fraction");
  expect_invalid("median", "max_updates = 0", "max_updates");
  expect_invalid("krum", "num_byzantine = 10\nmax_updates = 20", "max_updates");
  expect_invalid("multikrum", "num_selected = -2", "num_selected");
  expect_invalid("multikrum", "num_selected = 1", "krum");
  expect_invalid("fedavg", "server_learning_rate = \"fast\"", "must be a number");
  // beta1 belongs to the FedOpt family: FedAvg does not read it.
  expect_invalid("fedavg", "beta1 = 0.5", "unknown key 'fedavg.beta1'");
}

TEST(StrategyRegistryTest, ReadsOtherStrategiesTablesButBuildsTheChosenOne) {
  auto spec = ParseStrategySpec("name = \"median\"\n[krum]\nnum_byzantine = 2\n[trimmed_mean]\ntrim_fraction = 0.2");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->create()->name(), "median");
  // A typo in an unused strategy's table is still reported.
  auto typo = ParseStrategySpec("name = \"median\"\n[krum]\nnum_byzantin = 2");
  EXPECT_THAT(typo.status().message(), HasSubstr("'krum.num_byzantin'"));
}

TEST(StrategyRegistryTest, FormerFlatKeysNameTheirNewPlace) {
  auto spec = ParseStrategySpec("name = \"trimmed_mean\"\ntrim_fraction = 0.2");
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(),
              HasSubstr("'strategy.trim_fraction' moved to 'strategy.trimmed_mean.trim_fraction'"));
}

TEST(StrategyRegistryTest, HoldingStrategiesReportTheirBound) {
  auto median = ParseStrategySpec("name = \"median\"\n[median]\nmax_updates = 64");
  ASSERT_TRUE(median.ok()) << median.status();
  EXPECT_EQ(median->max_updates, 64);
  auto fedavg = ParseStrategySpec("name = \"fedavg\"");
  ASSERT_TRUE(fedavg.ok());
  EXPECT_EQ(fedavg->max_updates, 0);
}

TEST(StrategyRegistryTest, KrumMinUpdatesFollowsTheOptions) {
  auto krum = Create("krum", "num_byzantine = 3");
  ASSERT_TRUE(krum.ok()) << krum.status();
  EXPECT_EQ((*krum)->min_updates(), 9);  // 2f + 3
  auto multi = Create("multikrum", "num_byzantine = 1\nnum_selected = 12");
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ((*multi)->min_updates(), 12);
}

TEST(StrategyRegistryTest, FedProxConfiguresTheDevices) {
  auto prox = Create("fedprox", "proximal_mu = 0.3");
  ASSERT_TRUE(prox.ok()) << prox.status();
  proto::TrainConfig config;
  (*prox)->ConfigureTrain(0, config);
  EXPECT_DOUBLE_EQ(config.proximal_mu(), 0.3);
}

}  // namespace
}  // namespace fedge
