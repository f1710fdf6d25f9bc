// Tests of the [strategy] and [attack] scenario tables, malicious-device
// selection and the attacks' arithmetic (no LibTorch).
#include "simulations/attack.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/scenario.h"
#include "simulations/variants.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

AttackOptions Attack(std::string kind, double scale = 10, double noise_std = 0) {
  AttackOptions a;
  a.kind = std::move(kind);
  a.scale = scale;
  a.noise_std = noise_std;
  return a;
}

const ScenarioChecks kNoDataDir{.known_models = {"cnn_small"}, .require_data_dir = false};

absl::StatusOr<Scenario> Parse(const std::string& tables) {
  return ParseScenario("[population]\nnum_devices = 20\n[federation]\ndevices_per_round = 10\n" + tables, "t.toml",
                       kNoDataDir);
}

TEST(StrategyTableTest, DefaultsToFedAvgAndReadsEveryKey) {
  auto plain = Parse("");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->strategy.name, "fedavg");
  EXPECT_DOUBLE_EQ(plain->attack.fraction, 0);

  auto s = Parse(R"([strategy]
name = "multikrum"
[strategy.multikrum]
server_learning_rate = 0.5
num_byzantine = 2
num_selected = 4
max_updates = 64
[strategy.fedprox]
proximal_mu = 0.1
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->strategy.name, "multikrum");
  EXPECT_EQ(s->strategy.max_updates, 64);
  EXPECT_EQ(s->strategy.create()->min_updates(), 7);  // max(2f + 3, m)
  const nlohmann::json j = ScenarioToJson(*s);
  EXPECT_EQ(j["strategy"]["name"], "multikrum");
  EXPECT_EQ(j["strategy"]["num_byzantine"], 2);
  EXPECT_EQ(j["strategy"]["num_selected"], 4);
  EXPECT_EQ(j["strategy"]["server_learning_rate"], 0.5);
  EXPECT_EQ(ScenarioToJson(*plain)["strategy"]["server_learning_rate"], 1.0);
}

TEST(StrategyTableTest, RefusesWhatTheFactoryRefuses) {
  auto unknown = Parse("[strategy]\nname = \"fedmagic\"\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("strategy.name"));

  auto trim = Parse("[strategy]\nname = \"trimmed_mean\"\n[strategy.trimmed_mean]\ntrim_fraction = 0.5\n");
  ASSERT_FALSE(trim.ok());
  EXPECT_THAT(trim.status().message(), HasSubstr("strategy"));
  EXPECT_THAT(trim.status().message(), HasSubstr("trim_fraction"));

  auto lr = Parse("[strategy.fedavg]\nserver_learning_rate = 0\n");
  ASSERT_FALSE(lr.ok());
  EXPECT_THAT(lr.status().message(), HasSubstr("server_learning_rate"));

  auto typo = Parse("[strategy]\nname = \"krum\"\n[strategy.krum]\nnum_byzantines = 2\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("strategy.krum.num_byzantines"));

  auto type = Parse("[strategy]\nname = \"krum\"\n[strategy.krum]\nnum_byzantine = \"two\"\n");
  ASSERT_FALSE(type.ok());
  EXPECT_THAT(type.status().message(), HasSubstr("strategy.krum.num_byzantine"));

  auto moved = Parse("[strategy]\nname = \"krum\"\nnum_byzantine = 2\n");
  ASSERT_FALSE(moved.ok());
  EXPECT_THAT(moved.status().message(), HasSubstr("'strategy.num_byzantine' moved to 'strategy.krum.num_byzantine'"));
}

TEST(StrategyTableTest, ARoundMustGatherWhatTheStrategyNeeds) {
  // Krum with f = 4 needs 2f + 3 = 11 updates; rounds close at 10.
  auto krum = Parse("[strategy]\nname = \"krum\"\n[strategy.krum]\nnum_byzantine = 4\n");
  ASSERT_FALSE(krum.ok());
  EXPECT_THAT(krum.status().message(), HasSubstr("needs at least 11 updates per round"));
  EXPECT_TRUE(Parse("[strategy]\nname = \"krum\"\n[strategy.krum]\nnum_byzantine = 3\n").ok());

  auto held = Parse("[strategy]\nname = \"median\"\n[strategy.median]\nmax_updates = 5\n");
  ASSERT_FALSE(held.ok());
  EXPECT_THAT(held.status().message(), HasSubstr("max_updates"));
  // FedAvg streams: it has no max_updates.
  auto fedavg = Parse("[strategy]\nname = \"fedavg\"\n[strategy.fedavg]\nmax_updates = 5\n");
  EXPECT_THAT(fedavg.status().message(), HasSubstr("unknown key 'strategy.fedavg.max_updates'"));
}

TEST(StrategyTableTest, VariantsOverrideStrategyAndAttack) {
  auto set = ParseScenarioSet(R"(
[population]
num_devices = 20
[federation]
devices_per_round = 10
[strategy.krum]
num_byzantine = 2
[[variant]]
name = "krum"
strategy.name = "krum"
attack.fraction = 0.2
[[variant]]
name = "too-many"
strategy = { name = "krum", krum = { num_byzantine = 4 } }
)",
                              "v.toml", kNoDataDir);
  ASSERT_FALSE(set.ok());  // Krum with f = 4 needs 11 updates per round
  EXPECT_THAT(set.status().message(), HasSubstr("too-many"));
  EXPECT_THAT(set.status().message(), HasSubstr("needs at least 11"));
}

// The shipped scenario: a baseline and four attacked variants. Run from the
// repository root (ctest does).
TEST(StrategyTableTest, ByzantineScenarioFileParses) {
  auto set = LoadScenarioSet("simulations/scenarios/byzantine.toml", kNoDataDir);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->runs.size(), 5u);
  EXPECT_EQ(set->runs[0].scenario.strategy.name, "fedavg");
  EXPECT_DOUBLE_EQ(set->runs[0].scenario.attack.fraction, 0);
  const std::vector<std::string> strategies = {"fedavg", "median", "trimmed_mean", "krum"};
  for (size_t i = 1; i < set->runs.size(); ++i) {
    EXPECT_EQ(set->runs[i].scenario.strategy.name, strategies[i - 1]);
    EXPECT_DOUBLE_EQ(set->runs[i].scenario.attack.fraction, 0.2);
    EXPECT_EQ(set->runs[i].scenario.attack.kind, "sign_flip");
    EXPECT_DOUBLE_EQ(set->runs[i].scenario.attack.scale, 10);
  }
}

TEST(AttackTableTest, ReadsAndValidatesKeys) {
  auto s = Parse("[attack]\nfraction = 0.2\nkind = \"noise\"\nscale = 3\nnoise_std = 0.5\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->attack.fraction, 0.2);
  EXPECT_EQ(s->attack.kind, "noise");
  EXPECT_DOUBLE_EQ(s->attack.scale, 3);
  EXPECT_DOUBLE_EQ(s->attack.noise_std, 0.5);
  EXPECT_EQ(ScenarioToJson(*s)["attack"]["kind"], "noise");

  auto bad = Parse("[attack]\nfraction = 1.5\nkind = \"backdoor\"\nscale = -1\nnoise_std = -2\n");
  ASSERT_FALSE(bad.ok());
  for (const char* key : {"attack.fraction", "attack.kind", "attack.scale", "attack.noise_std"}) {
    EXPECT_THAT(bad.status().message(), HasSubstr(key));
  }
  auto typo = Parse("[attack]\nfractoin = 0.2\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("attack.fractoin"));
}

TEST(MaliciousSelectionTest, DeterministicAndOfTheRequestedSize) {
  for (int64_t n : {1, 7, 20, 1000}) {
    for (double fraction : {0.0, 0.1, 0.2, 0.33, 1.0}) {
      const std::vector<bool> a = SelectMaliciousDevices(n, fraction, 42);
      ASSERT_EQ(a.size(), static_cast<size_t>(n));
      EXPECT_EQ(std::count(a.begin(), a.end(), true), std::llround(fraction * n)) << n << " " << fraction;
      EXPECT_EQ(a, SelectMaliciousDevices(n, fraction, 42));
    }
  }
  // Another seed picks another set (of the same size).
  const std::vector<bool> a = SelectMaliciousDevices(1000, 0.2, 1);
  const std::vector<bool> b = SelectMaliciousDevices(1000, 0.2, 2);
  EXPECT_NE(a, b);
  EXPECT_EQ(std::count(b.begin(), b.end(), true), 200);
}

TEST(AttackUpdateTest, SignFlipAndScaleMultiplyTheDelta) {
  const std::vector<float> global = {1, -2, 0.5, 0};
  const std::vector<float> honest = {1.5, -2, 0.25, 0.1};  // delta {0.5, 0, -0.25, 0.1}
  std::vector<float> local = honest;
  ASSERT_TRUE(AttackUpdate(Attack("sign_flip", 10), global, absl::MakeSpan(local), 1).ok());
  const std::vector<float> flipped = {1 - 5.0f, -2, 0.5f + 2.5f, -1};
  for (size_t i = 0; i < local.size(); ++i) EXPECT_NEAR(local[i], flipped[i], 1e-6) << i;

  local = honest;
  ASSERT_TRUE(AttackUpdate(Attack("scale", 3), global, absl::MakeSpan(local), 1).ok());
  const std::vector<float> scaled = {2.5, -2, -0.25, 0.3f};
  for (size_t i = 0; i < local.size(); ++i) EXPECT_NEAR(local[i], scaled[i], 1e-6) << i;

  EXPECT_FALSE(AttackUpdate(Attack("label_flip"), global, absl::MakeSpan(local), 1).ok());
  std::vector<float> short_local = {1};
  EXPECT_FALSE(AttackUpdate(Attack("scale"), global, absl::MakeSpan(short_local), 1).ok());
}

TEST(AttackUpdateTest, NoiseMatchesTheHonestNormOrTheGivenStd) {
  const size_t d = 20000;
  std::vector<float> global(d, 1.0f), honest(d);
  for (size_t i = 0; i < d; ++i) honest[i] = 1.0f + ((i % 2) ? 0.03f : -0.03f);  // ||delta|| = 0.03 sqrt(d)
  auto noise_std = [&](const std::vector<float>& local) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < d; ++i) sum += local[i] - 1.0, sq += (local[i] - 1.0) * (local[i] - 1.0);
    EXPECT_NEAR(sum / d, 0, 0.01);
    return std::sqrt(sq / d);
  };
  std::vector<float> local = honest;
  ASSERT_TRUE(AttackUpdate(Attack("noise"), global, absl::MakeSpan(local), 5).ok());
  EXPECT_NEAR(noise_std(local), 0.03, 0.001);
  std::vector<float> again = honest;
  ASSERT_TRUE(AttackUpdate(Attack("noise"), global, absl::MakeSpan(again), 5).ok());
  EXPECT_EQ(local, again);  // seeded

  local = honest;
  ASSERT_TRUE(AttackUpdate(Attack("noise", 10, 0.5), global, absl::MakeSpan(local), 6).ok());
  EXPECT_NEAR(noise_std(local), 0.5, 0.01);
}

TEST(FlippedLabelShardTest, CopiesTheShardWithLabelsNineMinusY) {
  ImageDataset data;
  data.num_examples = 10;
  data.rows = 2;
  data.cols = 2;
  for (int i = 0; i < 10; ++i) {
    data.labels.push_back(static_cast<uint8_t>(i));
    for (int p = 0; p < 4; ++p) data.images.push_back(static_cast<uint8_t>(10 * i + p));
  }
  const std::vector<int64_t> indices = {7, 0, 3};
  const ImageDataset shard = FlippedLabelShard(data, indices);
  EXPECT_EQ(shard.num_examples, 3);
  EXPECT_EQ(shard.rows, 2);
  EXPECT_EQ(shard.labels, (std::vector<uint8_t>{2, 9, 6}));
  EXPECT_EQ(shard.images, (std::vector<uint8_t>{70, 71, 72, 73, 0, 1, 2, 3, 30, 31, 32, 33}));
}

}  // namespace
}  // namespace fedge
