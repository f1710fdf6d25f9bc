// Tests for [[variant]] tables (variants.h), the [dp]/[client_dp] tables
// (privacy_setup.h) and the combined report (comparison.h).
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/comparison.h"
#include "simulations/privacy_report.h"
#include "simulations/variants.h"

namespace fedge {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const ScenarioChecks kNoDataDir{.known_models = {"cnn_small"}, .require_data_dir = false};

constexpr char kBase[] = R"(
name = "cmp"
seed = 9
base_variant = "fp32"
federation.rounds = 4
[training]
learning_rate = 0.05
batch_size = 16
[dp]
noise_multiplier = 1.2
clip_norm = 1.0
device_epsilon = 4
)";

TEST(VariantsTest, PlainScenarioIsOneRunLabelledBase) {
  auto set = ParseScenarioSet("name = \"x\"\n[federation]\nrounds = 2\n", "plain.toml", kNoDataDir);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_FALSE(set->has_variants);
  ASSERT_EQ(set->runs.size(), 1u);
  EXPECT_EQ(set->runs[0].label, "base");
  EXPECT_EQ(set->runs[0].scenario.federation.rounds, 2);
}

TEST(VariantsTest, OverridesAreDeepMergedIntoTheBase) {
  auto set = ParseScenarioSet(absl::StrCat(kBase, R"(
[[variant]]
name = "int8"
training.codec = "int8"
training.learning_rate = 0.1

[[variant]]
name = "no-dp"
federation.rounds = 6
[variant.dp]
enabled = false
)"),
                              "v.toml", kNoDataDir);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->has_variants);
  ASSERT_EQ(set->runs.size(), 3u);
  const Scenario& base = set->runs[0].scenario;
  const Scenario& int8 = set->runs[1].scenario;
  const Scenario& no_dp = set->runs[2].scenario;
  EXPECT_EQ(set->runs[0].label, "fp32");
  EXPECT_EQ(set->runs[1].label, "int8");
  EXPECT_EQ(set->runs[2].label, "no-dp");
  EXPECT_EQ(base.training.codec, "fp32");
  EXPECT_EQ(base.training.learning_rate, 0.05);
  EXPECT_EQ(int8.training.codec, "int8");
  EXPECT_EQ(int8.training.learning_rate, 0.1);
  EXPECT_EQ(int8.training.batch_size, 16);  // untouched keys of a merged table stay
  EXPECT_TRUE(int8.dp.enabled);
  EXPECT_EQ(int8.dp.noise_multiplier, 1.2);
  EXPECT_FALSE(no_dp.dp.enabled);
  EXPECT_EQ(no_dp.federation.rounds, 6);
  for (const ScenarioVariant& v : set->runs) {
    EXPECT_EQ(v.scenario.seed, 9u);
    EXPECT_EQ(v.scenario.name, "cmp");
  }
  nlohmann::json j = ScenarioSetToJson(*set);
  EXPECT_EQ(j["base"], "fp32");
  EXPECT_EQ(j["runs"].size(), 3u);
}

TEST(VariantsTest, ProblemsNameTheVariantAndFullKeyPath) {
  auto set = ParseScenarioSet(absl::StrCat(kBase, R"(
[[variant]]
name = "a"
training.codec = "int8"
[[variant]]
name = "b"
training.lrr = 0.1
[[variant]]
name = "a"
seed = 3
[[variant]]
training.codec = "int8"
)"),
                              "v.toml", kNoDataDir);
  ASSERT_FALSE(set.ok());
  const std::string m(set.status().message());
  EXPECT_THAT(m, HasSubstr("v.toml: variant[1] \"b\": unknown key 'training.lrr'"));
  EXPECT_THAT(m, HasSubstr("variant[2] \"a\": the name is already used"));
  EXPECT_THAT(m, HasSubstr("variant[2] \"a\": 'seed' cannot be overridden"));
  EXPECT_THAT(m, HasSubstr("variant[3]: 'name' is required"));
  EXPECT_THAT(m, Not(HasSubstr("variant[0]")));
}

TEST(VariantsTest, BaseProblemsAreReportedOnceWithoutVariantNoise) {
  auto set = ParseScenarioSet("federation.rounds = 0\n[[variant]]\nname = \"a\"\n", "v.toml", kNoDataDir);
  ASSERT_FALSE(set.ok());
  const std::string m(set.status().message());
  EXPECT_THAT(m, HasSubstr("'rounds' must be >= 1"));
  EXPECT_THAT(m, Not(HasSubstr("variant[0]")));
  EXPECT_FALSE(ParseScenarioSet("variant = 3\n", "v.toml", kNoDataDir).ok());
  EXPECT_THAT(std::string(ParseScenarioSet("seed = [", "v.toml", kNoDataDir).status().message()),
              HasSubstr("TOML syntax error"));
}

TEST(PrivacyTablesTest, DpKeysAreValidated) {
  auto parse = [](const std::string& text) { return ParseScenarioSet(text, "dp.toml", kNoDataDir); };
  auto negative = parse("[dp]\nnoise_multiplier = -1\nclip_norm = 1\n");
  ASSERT_FALSE(negative.ok());
  EXPECT_THAT(std::string(negative.status().message()), HasSubstr("'dp.noise_multiplier' = -1 is outside"));
  auto no_clip = parse("[dp]\nnoise_multiplier = 1.1\n");
  ASSERT_FALSE(no_clip.ok());
  EXPECT_THAT(std::string(no_clip.status().message()), HasSubstr("dp: 'clip_norm' is required"));
  auto adam = parse("[training]\noptimizer = \"adam\"\n[dp]\nnoise_multiplier = 1\nclip_norm = 1\n");
  ASSERT_FALSE(adam.ok());
  EXPECT_THAT(std::string(adam.status().message()), HasSubstr("sgd optimizer"));
  auto typo = parse("[dp]\nnoise_multiplier = 1\nclip_norm = 1\nepsilon = 3\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(std::string(typo.status().message()), HasSubstr("unknown key 'dp.epsilon'"));
  auto adaptive = parse("[client_dp]\nadaptive = true\nnoise_multiplier = 1\n");
  ASSERT_FALSE(adaptive.ok());
  EXPECT_THAT(std::string(adaptive.status().message()), HasSubstr("'count_noise' > noise_multiplier / 2"));
  auto bad_delta = parse("[client_dp]\ndelta = 1\n");
  EXPECT_FALSE(bad_delta.ok());
}

TEST(PrivacyTablesTest, DpTablesParseAndShowInJson) {
  auto set = ParseScenarioSet(R"(
[dp]
noise_multiplier = 1.1
clip_norm = 0.5
device_epsilon = 4
delta = 1e-6
[client_dp]
clip_norm = 2
noise_multiplier = 0.8
adaptive = true
count_noise = 0.5
)",
                              "dp.toml", kNoDataDir);
  ASSERT_TRUE(set.ok()) << set.status();
  const Scenario& s = set->runs[0].scenario;
  EXPECT_TRUE(s.dp.enabled);
  EXPECT_EQ(s.dp.noise_multiplier, 1.1);
  EXPECT_EQ(s.dp.clip_norm, 0.5);
  EXPECT_EQ(s.dp.device_epsilon, 4);
  EXPECT_EQ(s.dp.delta, 1e-6);
  EXPECT_TRUE(s.client_dp.enabled);
  EXPECT_TRUE(s.client_dp.adaptive);
  EXPECT_EQ(s.client_dp.count_noise, 0.5);
  const nlohmann::json j = ScenarioToJson(s);
  EXPECT_EQ(j["dp"]["noise_multiplier"], 1.1);
  EXPECT_EQ(j["client_dp"]["clip_norm"], 2);
  auto none = ParseScenarioSet("federation.rounds = 1\n", "x.toml", kNoDataDir);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->runs[0].scenario.dp.enabled);
  EXPECT_FALSE(ScenarioToJson(none->runs[0].scenario).contains("dp"));
}

RoundRow Row(int64_t round, double accuracy, uint64_t bytes_up, double ratio, double epsilon) {
  RoundRow r;
  r.round = round;
  r.succeeded = true;
  r.test_accuracy = accuracy;
  r.participants = 2;
  r.bytes_up = bytes_up;
  r.bytes_down = 1000;
  r.compression_ratio = ratio;
  r.epsilon_device_median = epsilon;
  r.epsilon_device_max = epsilon;
  return r;
}

TEST(ComparisonReportTest, TableAndChartsCoverEveryVariant) {
  Scenario base;
  base.name = "cmp";
  Scenario int8 = base;
  int8.training.codec = "int8";
  RunReport a(base), b(int8);
  a.AddRound(Row(1, 0.5, 4000, 1.0, NAN));
  a.AddRound(Row(2, 0.8, 4000, 1.0, NAN));
  b.AddRound(Row(1, 0.4, 1000, 4.0, 0.5));
  b.AddRound(Row(2, 0.79, 1000, 4.0, 0.9));
  ComparisonReport report("cmp");
  report.Add("fp32", std::move(a), {.total_s = 2});
  report.Add("int8", std::move(b), {.total_s = 1});

  const nlohmann::json j = report.Summary();
  ASSERT_EQ(j["variants"].size(), 2u);
  const nlohmann::json& v = j["variants"][1];
  EXPECT_EQ(v["label"], "int8");
  EXPECT_DOUBLE_EQ(v["final_test_accuracy"].get<double>(), 0.79);
  EXPECT_DOUBLE_EQ(v["upload_reduction_vs_base"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(v["compression_ratio"].get<double>(), 4.0);
  EXPECT_NEAR(v["accuracy_change_vs_base_points"].get<double>(), -1.0, 1e-9);
  EXPECT_DOUBLE_EQ(v["epsilon_device_max"].get<double>(), 0.9);
  EXPECT_TRUE(j["variants"][0]["epsilon_device_max"].is_null());
  EXPECT_EQ(v["overrides"], nlohmann::json({"training.codec = int8"}));
  Scenario with_dp = base;
  with_dp.dp = {.enabled = true, .noise_multiplier = 1, .clip_norm = 1};
  ComparisonReport dp_off("dp");
  dp_off.Add("dp", RunReport(with_dp), {});
  dp_off.Add("non-private", RunReport(base), {});
  EXPECT_EQ(dp_off.Summary()["variants"][1]["overrides"], nlohmann::json({"dp off"}));

  const std::string html = report.Html();
  EXPECT_THAT(html, AllOf(HasSubstr("href=\"int8/report.html\""), HasSubstr("training.codec = int8"), HasSubstr("Test accuracy"),
                          HasSubstr("Device ε spent"), HasSubstr("4.00×"), HasSubstr("79.00%")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(report.TerminalSummary("runs/cmp"), HasSubstr("runs/cmp/report.html"));
}

TEST(PrivacyReportTest, SectionsOnlyWhenThereIsSomethingToShow) {
  std::vector<RoundRow> rows = {Row(1, 0.5, 1000, NAN, NAN)};
  rows[0].bytes_up = 0;
  EXPECT_EQ(CompressionPrivacyHtml(rows), "");
  EXPECT_EQ(CompressionPrivacyTerminalLines(rows), "");
  rows = {Row(1, 0.5, 1000, 4.0, 1.5), Row(2, 0.6, 3000, 2.0, 2.5)};
  rows[1].client_epsilon = 0.7;
  const std::string html = CompressionPrivacyHtml(rows);
  EXPECT_THAT(html, AllOf(HasSubstr("Compression ratio per round"), HasSubstr("Privacy spent"), HasSubstr("client ε"),
                          HasSubstr("2.50×")));  // (4000 + 6000) / 4000 fp32 bytes per byte sent
  EXPECT_THAT(CompressionPrivacyTerminalLines(rows),
              AllOf(HasSubstr("2.50x"), HasSubstr("2.500 median, 2.500 max"), HasSubstr("client epsilon       0.700")));
}

}  // namespace
}  // namespace fedge
