// The attack decorator around a trainer, and small real federations with
// Byzantine devices: the requested strategy is the one aggregating, and the
// coordinate median resists a sign-flip attack that ruins FedAvg.
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "aggregation/strategy_registry.h"
#include "core/logging.h"
#include "gtest/gtest.h"
#include "simulations/testing/small_data.h"
#include "simulations/attacking_trainer.h"
#include "simulations/simulator.h"

namespace fedge {
namespace {

// Returns global + a fixed delta, and records what it was asked.
class FixedDeltaTrainer final : public Trainer {
 public:
  explicit FixedDeltaTrainer(std::vector<float> delta)
      : layout_(*ParamLayout::Create({TensorSpec{"w", {static_cast<int64_t>(delta.size())}}})),
        delta_(std::move(delta)) {}
  const std::string& architecture() const override { return architecture_; }
  const ParamLayout& layout() const override { return layout_; }
  uint64_t num_examples() const override { return 37; }
  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig&, uint64_t) override {
    TrainResult result;
    result.local = global;
    for (size_t i = 0; i < delta_.size(); ++i) result.local.values[i] += delta_[i];
    result.num_examples = 37;
    return result;
  }

 private:
  std::string architecture_ = "fixed";
  ParamLayout layout_;
  std::vector<float> delta_;
};

TEST(AttackingTrainerTest, SignFlipSendsMinusTenTimesTheHonestDelta) {
  FixedDeltaTrainer honest({0.5f, -0.25f, 0.0f, 2.0f});
  AttackOptions attack;
  attack.kind = "sign_flip";
  attack.scale = 10;
  AttackingTrainer attacker(&honest, attack);
  EXPECT_EQ(attacker.num_examples(), 37u);  // counts stay honest
  EXPECT_EQ(attacker.architecture(), "fixed");
  ModelParams global;
  global.layout = honest.layout();
  global.values = {1, 1, 1, 1};
  auto result = attacker.Train(global, proto::TrainConfig(), 3);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->num_examples, 37u);
  const std::vector<float> expected = {1 - 5.0f, 1 + 2.5f, 1, 1 - 20.0f};
  ASSERT_EQ(result->local.values.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(result->local.values[i], expected[i], 1e-6) << i;
}

StrategySpec StrategyFor(const std::string& toml) {
  absl::StatusOr<StrategySpec> spec = ParseStrategySpec(toml);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *std::move(spec) : DefaultStrategySpec();
}

class ByzantineRunTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(2000, 500);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  // 10 IID devices of 100 examples, all 10 per round, 2 of them attacking.
  static Scenario Attacked(const std::string& strategy, const std::string& kind = "sign_flip") {
    Scenario s;
    s.name = "byzantine";
    s.seed = 5;
    s.federation.rounds = 3;
    s.population.num_devices = 10;
    s.federation.devices_per_round = 10;
    s.federation.over_selection = 1.0;
    s.data.max_examples_per_device = 100;
    s.training.batch_size = 20;
    s.training.learning_rate = 0.05;
    s.run.workers = 2;
    s.strategy = StrategyFor(absl::StrCat("name = \"", strategy, "\""));
    s.attack.fraction = 0.2;
    s.attack.kind = kind;
    s.attack.scale = 10;
    return s;
  }

  static std::vector<RoundRow> Run(const Scenario& s) {
    auto rows = testing::RunAllRounds(s, *data_);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *std::move(rows) : std::vector<RoundRow>();
  }

  static SimulationData* data_;
};

SimulationData* ByzantineRunTest::data_ = nullptr;

TEST_F(ByzantineRunTest, MedianResistsSignFlippingThatRuinsFedAvg) {
  const std::vector<RoundRow> fedavg = Run(Attacked("fedavg"));
  const std::vector<RoundRow> median = Run(Attacked("median"));
  ASSERT_EQ(fedavg.size(), 3u);
  ASSERT_EQ(median.size(), 3u);
  for (const RoundRow& r : median) {
    EXPECT_TRUE(r.succeeded);
    EXPECT_EQ(r.participants, 10);
    EXPECT_EQ(r.malicious, 2);  // every round aggregates both attackers
  }
  const double fedavg_acc = fedavg.back().test_accuracy;
  const double median_acc = median.back().test_accuracy;
  EXPECT_GT(median_acc, 0.5);
  EXPECT_FALSE(fedavg_acc > 0.3) << fedavg_acc;  // NaN (a diverged model) also counts as ruined
  EXPECT_GT(median_acc, fedavg_acc + 0.2);
}

TEST_F(ByzantineRunTest, KrumRefusesARoundTooSmallForItsF) {
  // Krum with f = 4 needs 11 updates: the aggregator refuses the round.
  Scenario s = Attacked("krum");
  s.federation.rounds = 1;
  s.strategy = StrategyFor("name = \"krum\"\n[krum]\nnum_byzantine = 4");
  const std::vector<RoundRow> rows = Run(s);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].succeeded);
}

TEST_F(ByzantineRunTest, LabelFlippersTrainAndCountAsMalicious) {
  Scenario s = Attacked("fedavg", "label_flip");
  s.federation.rounds = 1;
  const std::vector<RoundRow> rows = Run(s);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].succeeded);
  EXPECT_EQ(rows[0].participants, 10);
  EXPECT_EQ(rows[0].malicious, 2);
}

}  // namespace
}  // namespace fedge
