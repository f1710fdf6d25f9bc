#include "simulations/scenario.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

const ScenarioChecks kNoDataDir{.known_models = {"cnn_small", "cnn_lenet"}, .require_data_dir = false};

TEST(ScenarioTest, SamplePartitionKeys) {
  auto s = ParseScenario(R"(
[population]
num_devices = 100000
[data]
partition = "sample"
alpha = 0.3
sample_size = { mean = 32, sigma = 0.6 }
sample_min = 8
sample_max = 128
style = { rotation_deg = 10, brightness = 0.1, noise = 0.03 }
)",
                         "t.toml", kNoDataDir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->data.partition, "sample");
  EXPECT_DOUBLE_EQ(s->data.sample_size.mean, 32);
  EXPECT_DOUBLE_EQ(s->data.sample_size.sigma, 0.6);
  EXPECT_EQ(s->data.sample_min, 8);
  EXPECT_EQ(s->data.sample_max, 128);
  EXPECT_DOUBLE_EQ(s->data.style.rotation_deg, 10);
  EXPECT_DOUBLE_EQ(s->data.style.noise, 0.03);
  EXPECT_EQ(ScenarioToJson(*s)["data"]["style"]["brightness"], 0.1);

  auto inverted = ParseScenario("[data]\npartition = \"sample\"\nsample_min = 50\nsample_max = 10\n", "t.toml",
                                kNoDataDir);
  ASSERT_FALSE(inverted.ok());
  EXPECT_THAT(inverted.status().message(), HasSubstr("'sample_max' = 10 is below 'sample_min' = 50"));
  auto unknown = ParseScenario("[data]\nstyle = { rotation = 10 }\n", "t.toml", kNoDataDir);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("data.style.rotation"));
  auto drift = ParseScenario(R"(
[population]
num_devices = 20
[federation]
rounds = 20
[data]
partition = "sample"
[drift]
kind = "rotation"
fraction = 0.5
start_round = 10
)",
                             "t.toml", kNoDataDir);
  ASSERT_FALSE(drift.ok());
  EXPECT_THAT(drift.status().message(), HasSubstr("does not support a [drift] table"));
}

TEST(ScenarioTest, DefaultsAndEveryTableParse) {
  auto s = ParseScenario(R"(
name = "t"
seed = 7
[model]
name = "cnn_lenet"
[population]
num_devices = 40
[federation]
rounds = 3
evaluate_every = 0
fraction = 0.25
over_selection = 1.5
min_quorum = 2
round_deadline_s = 30
[training]
local_epochs = 2
batch_size = 64
learning_rate = 0.01
momentum = 0.9
weight_decay = 1e-4
optimizer = "adam"
codec = "int8"
[data]
partition = "dirichlet"
alpha = 0.1
max_examples_per_device = 100
[devices]
compute_speed = { mean = 200, sigma = 0.1 }
latency_ms = { mean = 10 }
availability = 0.9
dropout = 0.05
[run]
workers = 2
out_dir = "/tmp/x"
[server]
listen = "0.0.0.0:50051"
)",
                         "t.toml", kNoDataDir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->seed, 7u);
  EXPECT_EQ(s->model.name, "cnn_lenet");
  EXPECT_EQ(s->population.num_devices, 40);
  EXPECT_DOUBLE_EQ(s->federation.fraction, 0.25);
  EXPECT_EQ(s->training.optimizer, "adam");
  EXPECT_EQ(s->data.partition, "dirichlet");
  EXPECT_DOUBLE_EQ(s->devices.compute_speed.mean, 200);
  EXPECT_DOUBLE_EQ(s->devices.latency_ms.sigma, Scenario().devices.latency_ms.sigma);
  EXPECT_EQ(s->run.workers, 2);
  EXPECT_EQ(s->run.torch_threads, 1);
  EXPECT_EQ(ScenarioToJson(*s)["devices"]["compute_speed"]["mean"], 200.0);
  EXPECT_EQ(ScenarioToJson(*s)["training"]["codec"], "int8");
}

TEST(ScenarioTest, OldKeysNameTheirReplacement) {
  const std::string m(ParseScenario("rounds = 3\nmodel = \"cnn_small\"\n[selection]\ndevices_per_round = 2\n"
                                    "[training]\nlr = 0.1\n",
                                    "old.toml", kNoDataDir)
                          .status()
                          .message());
  EXPECT_THAT(m, HasSubstr("'rounds' was renamed: use federation.rounds"));
  EXPECT_THAT(m, HasSubstr("[model] name"));
  EXPECT_THAT(m, HasSubstr("use [federation]"));
  EXPECT_THAT(m, HasSubstr("use training.learning_rate"));
}

TEST(ScenarioTest, ReportsEveryProblemAtOnceWithFullKeyPaths) {
  auto s = ParseScenario(R"(
[model]
name = "resnet"
[federation]
rounds = 0
[training]
codec = "int9"
learning_rate = "fast"
[data]
partition = "zipf"
dir = "/no/such/dir"
[devices]
compute_speed = { mean = 10, sgima = 1 }
)",
                         "bad.toml", {.known_models = {"cnn_small"}, .require_data_dir = true});
  ASSERT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string m(s.status().message());
  EXPECT_THAT(m, HasSubstr("'rounds' must be >= 1 in a simulation"));
  EXPECT_THAT(m, HasSubstr("resnet"));
  EXPECT_THAT(m, HasSubstr("codec"));
  EXPECT_THAT(m, HasSubstr("training.learning_rate"));
  EXPECT_THAT(m, HasSubstr("zipf"));
  EXPECT_THAT(m, HasSubstr("/no/such/dir"));
  EXPECT_THAT(m, HasSubstr("devices.compute_speed.sgima"));
}

TEST(ScenarioTest, CrossFieldRules) {
  auto both = ParseScenario("[federation]\ndevices_per_round = 2\nfraction = 0.5\n", "x", kNoDataDir);
  EXPECT_THAT(both.status().message(), HasSubstr("not both"));
  auto too_many = ParseScenario("[population]\nnum_devices = 3\n[federation]\ndevices_per_round = 5\n", "x", kNoDataDir);
  EXPECT_THAT(too_many.status().message(), HasSubstr("exceeds"));
  // The default target shrinks to a small population instead of failing.
  auto small = ParseScenario("[population]\nnum_devices = 3\n", "x", kNoDataDir);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->federation.devices_per_round, 3);
  EXPECT_THAT(ParseScenario("name = \"a/b\"\n", "x", kNoDataDir).status().message(), HasSubstr("name"));
}

TEST(ScenarioTest, LaterFeatureTablesAreUnknownUntilImplemented) {
  auto s = ParseScenario("[dp]\nnoise_multiplier = 1.0\n", "x", kNoDataDir);
  EXPECT_THAT(s.status().message(), HasSubstr("dp"));
}

TEST(ScenarioTest, DeployTableParsesAndChecksItsRanges) {
  auto s = ParseScenario("[federation]\nrounds = 10\n[deploy]\nevery_rounds = 5\nstudent = \"cnn_small\"\nepochs = 2\n"
                         "proxy_examples = 500\nwarm_start = false\n",
                         "x", kNoDataDir);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->deploy.enabled());
  EXPECT_EQ(s->deploy.every_rounds, 5);
  EXPECT_EQ(s->deploy.epochs, 2);
  EXPECT_EQ(s->deploy.proxy_examples, 500);
  EXPECT_FALSE(s->deploy.warm_start);
  EXPECT_EQ(ScenarioToJson(*s)["deploy"]["student"], "cnn_small");
  EXPECT_FALSE(ParseScenario("", "x", kNoDataDir)->deploy.enabled());

  auto bad = ParseScenario("[federation]\nrounds = 4\n[deploy]\nevery_rounds = 5\nstudent = \"vit\"\ntemperature = 0\nkd = 1\n",
                           "x", kNoDataDir);
  const std::string m(bad.status().message());
  EXPECT_THAT(m, HasSubstr("exceeds federation.rounds = 4"));
  EXPECT_THAT(m, HasSubstr("vit"));
  EXPECT_THAT(m, HasSubstr("deploy.temperature"));
  EXPECT_THAT(m, HasSubstr("deploy.kd"));
}

TEST(ScenarioTest, MissingFileAndSyntaxErrors) {
  EXPECT_EQ(LoadScenario("/no/such/scenario.toml").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseScenario("seed = = 3", "x", kNoDataDir).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ScenarioTest, LogNormalHasTheConfiguredMean) {
  EXPECT_DOUBLE_EQ(SampleLogNormal({.mean = 5, .sigma = 0}, 1.3), 5);
  const LogNormal d{.mean = 10, .sigma = 0.5};
  EXPECT_LT(SampleLogNormal(d, -1), SampleLogNormal(d, 1));
  // E[exp(sigma z - sigma^2/2)] = 1: check by quadrature over the normal density.
  double sum = 0, dz = 0.001;
  for (double z = -8; z < 8; z += dz) sum += SampleLogNormal(d, z) * std::exp(-z * z / 2) / std::sqrt(2 * M_PI) * dz;
  EXPECT_NEAR(sum, 10, 1e-3);
}

}  // namespace
}  // namespace fedge
