#include "coordinator/coordinator_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

constexpr char kFullConfig[] = R"(
[server]
listen = "0.0.0.0:6000"
tls_cert = "c.pem"
tls_key = "k.pem"
signing_key = "sign.pem"
generate_signing_key = true
tick_interval_ms = 50
exit_when_finished = true
rounds_csv = "rounds.csv"
log_level = "debug"

[model]
name = "mlp"
seed = 7
model_id = "fmnist"

[evaluation]
data = ""

[federation]
rounds = 3
min_devices = 5
devices_per_round = 4
round_deadline_s = 30
poll_interval_ms = 250
download_chunk_bytes = 65536
max_update_norm = 10.0

[train]
local_epochs = 2
learning_rate = 0.1
optimizer = "adam"
codec = "fp32"

[strategy]
name = "fedadam"
[strategy.fedadam]
server_learning_rate = 0.03
)";

TEST(CoordinatorConfigTest, DefaultsAreValidOnceTlsIsGiven) {
  CoordinatorConfig config;
  EXPECT_EQ(config.federation.train.codec(), "fp32");
  EXPECT_EQ(config.federation.train.batch_size(), 32);
  EXPECT_EQ(ValidateCoordinatorConfig(config).code(), absl::StatusCode::kInvalidArgument) << "no TLS yet";
  config.generate_dev_tls = "certs";
  config.signing_key = "signing.pem";
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << ValidateCoordinatorConfig(config);
}

TEST(CoordinatorConfigTest, ReadsEverySection) {
  CoordinatorConfig config;
  ASSERT_TRUE(ParseCoordinatorConfig(kFullConfig, "test.toml", &config).ok());
  EXPECT_EQ(config.listen, "0.0.0.0:6000");
  EXPECT_EQ(config.tick_interval_ms, 50);
  EXPECT_TRUE(config.exit_when_finished);
  EXPECT_EQ(config.federation.architecture, "mlp");
  EXPECT_EQ(config.federation.model_id, "fmnist");
  EXPECT_EQ(config.model_seed, 7);
  EXPECT_EQ(config.eval_data, "");
  EXPECT_EQ(config.federation.max_rounds, 3);
  EXPECT_EQ(config.federation.devices_per_round, 4);
  EXPECT_EQ(config.federation.round_deadline, absl::Seconds(30));
  EXPECT_EQ(config.federation.poll_interval, absl::Milliseconds(250));
  EXPECT_EQ(config.federation.download_chunk_bytes, 65536u);
  EXPECT_DOUBLE_EQ(config.federation.limits.max_l2_norm, 10.0);
  EXPECT_EQ(config.federation.train.local_epochs(), 2);
  EXPECT_EQ(config.federation.train.batch_size(), 32) << "absent keys keep their defaults";
  EXPECT_EQ(config.federation.train.optimizer(), "adam");
  EXPECT_EQ(config.strategy.name, "fedadam");
  ASSERT_FALSE(config.strategy.options.empty());
  EXPECT_EQ(config.strategy.options[0].first, "server_learning_rate");
  EXPECT_DOUBLE_EQ(config.strategy.options[0].second, 0.03);
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << ValidateCoordinatorConfig(config);
}

TEST(CoordinatorConfigTest, ReportsEveryProblemWithItsKeyPath) {
  CoordinatorConfig config;
  const absl::Status status = ParseCoordinatorConfig(R"(
[server]
listne = "typo"
[federation]
rounds = -1
[strategy]
name = "fedmagic"
)",
                                                     "bad.toml", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("listne"));
  EXPECT_THAT(message, HasSubstr("federation.rounds"));
  EXPECT_THAT(message, HasSubstr("fedmagic"));
}

TEST(CoordinatorConfigTest, CrossFieldRules) {
  CoordinatorConfig config;
  config.tls_cert = "c.pem";
  config.signing_key = "s.pem";
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("both"));
  config.tls_key = "k.pem";
  config.exit_when_finished = true;
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("round limit"));
  config.federation.max_rounds = 2;
  config.federation.download_chunk_bytes = 8 << 20;
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("max_message_bytes"));
  config.federation.download_chunk_bytes = 1 << 20;
  config.signing_key.clear();
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("ephemeral"));
  config.public_key = "pub.pem";
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok());
}

TEST(CoordinatorConfigTest, ReadsMutualTlsKeysAndNeedsTheCaForAnAdmin) {
  CoordinatorConfig config;
  EXPECT_TRUE(config.client_ca.empty()) << "mutual TLS is opt-in";
  ASSERT_TRUE(ParseCoordinatorConfig(R"(
[server]
generate_dev_tls = "certs"
client_ca = "certs/ca.pem"
admin_cn = "ops"
signing_key = "s.pem"
)",
                                     "mtls.toml", &config)
                  .ok());
  EXPECT_EQ(config.client_ca, "certs/ca.pem");
  EXPECT_EQ(config.admin_cn, "ops");
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << ValidateCoordinatorConfig(config);
  config.client_ca.clear();
  const absl::Status no_ca = ValidateCoordinatorConfig(config);
  EXPECT_EQ(no_ca.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_ca.message()), HasSubstr("--client-ca"));
  config.admin_cn.clear();
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << "server-only TLS stays valid";
}

TEST(CoordinatorConfigTest, DeploymentIsOffByDefault) {
  const CoordinatorConfig config;
  EXPECT_EQ(config.deploy.every_rounds, 0);
  EXPECT_EQ(config.deploy.student, "cnn_student");
  EXPECT_EQ(config.deploy.proxy_examples, 10000);
  EXPECT_EQ(config.deploy.prune_fraction, 0);
  EXPECT_TRUE(config.deploy.warm_start);
}

TEST(CoordinatorConfigTest, ReadsTheDeploySection) {
  CoordinatorConfig config;
  const absl::Status status = ParseCoordinatorConfig(R"(
[deploy]
every_rounds = 5
student = "mlp"
temperature = 4.0
epochs = 7
batch_size = 128
learning_rate = 0.01
proxy_data = "/data/fmnist"
proxy_examples = 2000
prune_fraction = 0.5
warm_start = false
threads = 2
)",
                                                     "deploy.toml", &config);
  ASSERT_TRUE(status.ok()) << status;
  const DeployConfig& d = config.deploy;
  EXPECT_EQ(d.every_rounds, 5);
  EXPECT_EQ(d.student, "mlp");
  EXPECT_DOUBLE_EQ(d.temperature, 4.0);
  EXPECT_EQ(d.epochs, 7);
  EXPECT_EQ(d.batch_size, 128);
  EXPECT_DOUBLE_EQ(d.learning_rate, 0.01);
  EXPECT_EQ(d.proxy_data, "/data/fmnist");
  EXPECT_EQ(d.proxy_examples, 2000);
  EXPECT_DOUBLE_EQ(d.prune_fraction, 0.5);
  EXPECT_FALSE(d.warm_start);
  EXPECT_EQ(d.threads, 2);
  config.generate_dev_tls = "certs";
  config.signing_key = "signing.pem";
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << ValidateCoordinatorConfig(config);
}

TEST(CoordinatorConfigTest, ReportsBadDeploySettingsWithTheirKeyPath) {
  CoordinatorConfig config;
  const absl::Status status = ParseCoordinatorConfig(R"(
[deploy]
every_rounds = -1
tempreature = 2.0
epochs = 0
prune_fraction = 1.0
)",
                                                     "bad.toml", &config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("deploy.every_rounds"));
  EXPECT_THAT(message, HasSubstr("tempreature"));
  EXPECT_THAT(message, HasSubstr("deploy.epochs"));
  EXPECT_THAT(message, HasSubstr("deploy.prune_fraction"));
}

TEST(CoordinatorConfigTest, DeployingNeedsProxyDataAndValidSettings) {
  CoordinatorConfig config;
  config.generate_dev_tls = "certs";
  config.signing_key = "signing.pem";
  config.deploy.proxy_data.clear();
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << "not deploying: proxy_data unused";
  config.deploy.every_rounds = 2;
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("deploy.proxy_data"));
  config.deploy.proxy_data = "/data/fmnist";
  EXPECT_TRUE(ValidateCoordinatorConfig(config).ok()) << ValidateCoordinatorConfig(config);
  config.deploy.prune_fraction = 1;  // e.g. set programmatically, bypassing the reader
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("deploy.prune_fraction"));
  config.deploy.prune_fraction = 0;
  config.deploy.student.clear();
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("deploy.student"));
  config.deploy.student = "cnn_student";
  config.deploy.every_rounds = -1;  // --deploy-every -1
  EXPECT_THAT(std::string(ValidateCoordinatorConfig(config).message()), HasSubstr("deploy.every_rounds"));
}

}  // namespace
}  // namespace fedge
