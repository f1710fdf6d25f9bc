#include "client/device_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(DeviceConfigTest, ReadsEverySection) {
  DeviceConfig c = DefaultDeviceConfig();
  const absl::Status s = ParseDeviceConfig(R"(
device_id = "phone-7"
seed = 99
state_dir = "/var/lib/fedge"
inference_dir = "/var/lib/fedge/model"
[model]
name = "cnn_lenet"
[dp]
ledger = "/var/lib/fedge/ledger"
device_epsilon = 4.0
[coordinator]
address = "coord:443"
root_cert = "ca.pem"
public_key = "coord.pub.pem"
rpc_timeout_seconds = 5.0
[data]
shard = 3
num_shards = 10
[transfer]
download_chunk_bytes = 1024
[retry]
initial_backoff_ms = 250
max_attempts = 3
jitter = 0.1
[conditions]
min_battery_percent = 35
metered = true
min_separation_s = 600
[run]
max_tasks = 4
torch_threads = 2
)",
                                           "test.toml", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.device.device_id, "phone-7");
  EXPECT_EQ(c.device.seed, 99u);
  EXPECT_EQ(c.address, "coord:443");
  EXPECT_EQ(c.root_cert_path, "ca.pem");
  EXPECT_EQ(c.public_key_path, "coord.pub.pem");
  EXPECT_EQ(c.rpc_timeout, absl::Seconds(5));
  EXPECT_EQ(c.data.shard, 3);
  EXPECT_EQ(c.data.num_shards, 10);
  EXPECT_EQ(c.trainer.architecture, "cnn_lenet");
  EXPECT_EQ(c.trainer.torch_threads, 2);
  EXPECT_EQ(c.device.download_chunk_bytes, 1024u);
  EXPECT_EQ(c.device.upload_chunk_bytes, 256u << 10);  // default kept
  EXPECT_EQ(c.device.retry.initial_backoff, absl::Milliseconds(250));
  EXPECT_EQ(c.device.retry.max_attempts, 3);
  EXPECT_EQ(c.run.max_tasks, 4);
  EXPECT_EQ(c.device.state_dir, "/var/lib/fedge");
  EXPECT_EQ(c.inference_dir, "/var/lib/fedge/model");
  EXPECT_EQ(DefaultDeviceConfig().inference_dir, "") << "training only unless asked";
  EXPECT_EQ(c.privacy_ledger_path, "/var/lib/fedge/ledger");
  EXPECT_EQ(c.conditions.min_battery_percent, 35);
  EXPECT_TRUE(c.conditions.metered);
  EXPECT_FALSE(c.conditions.train_on_metered);
  EXPECT_EQ(c.device.min_participation_interval, absl::Minutes(10));
  EXPECT_EQ(c.dp.device_epsilon, 4.0);
  EXPECT_EQ(c.dp.delta, 1e-5);  // default kept
  EXPECT_TRUE(ValidateDeviceConfig(c).ok());
}

TEST(DeviceConfigTest, OldKeysNameTheSharedSchemaKey) {
  DeviceConfig c = DefaultDeviceConfig();
  const absl::Status s = ParseDeviceConfig("[training]\narchitecture = \"mlp\"\n[privacy]\nepsilon = 2\n", "old.toml", &c);
  EXPECT_THAT(s.message(), HasSubstr("use model.name"));
  EXPECT_THAT(s.message(), HasSubstr("dp.device_epsilon"));
}

TEST(DeviceConfigTest, ReportsUnknownKeysAndBadValuesTogether) {
  DeviceConfig c = DefaultDeviceConfig();
  const absl::Status s = ParseDeviceConfig("devce_id = \"x\"\n[retry]\njitter = 1.5\n", "bad.toml", &c);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("devce_id"));
  EXPECT_THAT(s.message(), HasSubstr("jitter"));
}

TEST(DeviceConfigTest, RequiresThePinnedKeyAndAShardInRange) {
  DeviceConfig c = DefaultDeviceConfig();
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("public_key"));
  c.public_key_path = "k.pem";
  c.data.shard = 5;
  c.data.num_shards = 5;
  EXPECT_EQ(ValidateDeviceConfig(c).code(), absl::StatusCode::kInvalidArgument);
  c.data.index_file = "indices.txt";  // an index file replaces the shard
  EXPECT_TRUE(ValidateDeviceConfig(c).ok());
}

TEST(DeviceConfigTest, MqttTransportNeedsABroker) {
  DeviceConfig c = DefaultDeviceConfig();
  EXPECT_EQ(c.transport, "grpc");
  const absl::Status s = ParseDeviceConfig(R"(
[coordinator]
public_key = "coord.pub.pem"
transport = "mqtt"
[mqtt]
topic_prefix = "site"
)",
                                           "mqtt.toml", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.transport, "mqtt");
  EXPECT_EQ(c.mqtt.topic_prefix, "site");
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("mqtt.broker"));
  c.mqtt.broker = "ssl://127.0.0.1:8883";
  c.address.clear();  // not used over MQTT
  EXPECT_TRUE(ValidateDeviceConfig(c).ok()) << ValidateDeviceConfig(c);
  EXPECT_FALSE(ParseDeviceConfig("[coordinator]\ntransport = \"carrier-pigeon\"\n", "bad.toml", &c).ok());
}

TEST(DeviceConfigTest, ReadsTheClientCertificateAndNeedsBothHalves) {
  DeviceConfig c = DefaultDeviceConfig();
  EXPECT_TRUE(c.tls_cert_path.empty() && c.tls_key_path.empty()) << "no client certificate by default";
  const absl::Status s = ParseDeviceConfig(R"(
[coordinator]
public_key = "coord.pub.pem"
tls_cert = "certs/devices/device-0/cert.pem"
tls_key = "certs/devices/device-0/key.pem"
)",
                                           "mtls.toml", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.tls_cert_path, "certs/devices/device-0/cert.pem");
  EXPECT_EQ(c.tls_key_path, "certs/devices/device-0/key.pem");
  EXPECT_TRUE(ValidateDeviceConfig(c).ok()) << ValidateDeviceConfig(c);
  c.tls_key_path.clear();
  EXPECT_EQ(ValidateDeviceConfig(c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("tls_key"));
  c.tls_cert_path.clear();
  EXPECT_TRUE(ValidateDeviceConfig(c).ok()) << "neither half: server-only TLS";
  c.tls_key_path = "key.pem";
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("both or neither"));
}

TEST(DeviceConfigTest, ReadsDataSourcesTabularModelAndDrift) {
  DeviceConfig c = DefaultDeviceConfig();
  EXPECT_FALSE(c.drift.enabled);
  const absl::Status s = ParseDeviceConfig(R"(
[model]
name = "mlp_tabular"
input_features = 12
num_classes = 3
[data]
source = "spool"
format = "csv"
path = "/var/spool/fedge"
max_file_bytes = 1000000
window = 500
reservoir = 50
train_examples = 300
[data.csv]
label_column = 0
delimiter = ";"
header = true
feature_scale = 0.5
max_line_bytes = 4096
[data.preprocess]
statistics = "per_feature"
non_finite = "reject"
min_value = -inf
[drift]
hold_examples = 100
report_alarms = false
[drift.detector]
name = "adwin"
signal = "error"
cooldown_samples = 10
reference_examples = 0
[drift.detector.adwin]
delta = 0.01
)",
                                           "device.toml", &c);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.trainer.architecture, "mlp_tabular");
  EXPECT_EQ(c.trainer.shape.input_features, 12);
  EXPECT_EQ(c.trainer.shape.num_classes, 3);
  EXPECT_EQ(c.data.source, "spool");
  EXPECT_EQ(c.data.format, "csv");
  EXPECT_EQ(c.data.path, "/var/spool/fedge");
  EXPECT_EQ(c.data.max_file_bytes, 1000000);
  EXPECT_EQ(c.data.store.window, 500);
  EXPECT_EQ(c.data.store.reservoir, 50);
  EXPECT_EQ(c.data.store.train_examples, 300);
  EXPECT_EQ(c.data.csv.label_column, 0);
  EXPECT_EQ(c.data.csv.delimiter, ';');
  EXPECT_TRUE(c.data.csv.header);
  EXPECT_EQ(c.data.csv.feature_scale, 0.5);
  EXPECT_EQ(c.data.csv.max_line_bytes, 4096);
  EXPECT_EQ(c.data.preprocess.statistics, StatisticsMode::kPerFeature);
  EXPECT_EQ(c.data.preprocess.non_finite, NonFinitePolicy::kReject);
  EXPECT_TRUE(c.data.preprocess.min_value && std::isinf(*c.data.preprocess.min_value));
  EXPECT_FALSE(c.data.preprocess.max_value);
  EXPECT_TRUE(c.drift.enabled);  // the table turns it on
  EXPECT_EQ(c.drift.settings.hold_examples, 100);
  EXPECT_FALSE(c.drift.settings.report_alarms);
  EXPECT_TRUE(c.drift.settings.response);
  EXPECT_EQ(c.drift.settings.detector.name, "adwin");
  EXPECT_EQ(c.drift.settings.signal, DriftSignalKind::kError);
  EXPECT_EQ(c.drift.settings.cooldown_samples, 10);
  EXPECT_EQ(c.drift.settings.reference_examples, 0);
  c.public_key_path = "k.pem";
  EXPECT_TRUE(ValidateDeviceConfig(c).ok());
}

TEST(DeviceConfigTest, DataSourceKeysAreCheckedTogether) {
  DeviceConfig c = DefaultDeviceConfig();
  c.public_key_path = "k.pem";
  c.data.source = "spool";
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("data.format = \"csv\""));
  c.data.format = "csv";
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("data.path (--data-path) must name the spool directory"));
  c.data.source = "files";
  c.data.format = "idx";
  c.data.path = "x.csv";
  EXPECT_THAT(ValidateDeviceConfig(c).message(), HasSubstr("data.dir"));
  DeviceConfig bad = DefaultDeviceConfig();
  const absl::Status s = ParseDeviceConfig("[data]\nsource = \"mqtt\"\nwindow = 0\n[drift]\nenabled = false\n"
                                           "[drift.detector]\nname = \"cusum\"\n",
                                           "bad.toml", &bad);
  EXPECT_THAT(s.message(), HasSubstr("data.source"));
  EXPECT_THAT(s.message(), HasSubstr("data.window"));
  EXPECT_THAT(s.message(), HasSubstr("cusum"));
}

TEST(IidShardTest, ShardsAreDisjointCoverTheDataAndAreReproducible) {
  std::set<int64_t> all;
  size_t total = 0;
  for (int64_t shard = 0; shard < 7; ++shard) {
    auto indices = IidShard(100, shard, 7, 3);
    ASSERT_TRUE(indices.ok());
    EXPECT_GE(indices->size(), 14u);
    EXPECT_LE(indices->size(), 15u);
    EXPECT_TRUE(std::is_sorted(indices->begin(), indices->end()));
    total += indices->size();
    all.insert(indices->begin(), indices->end());
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(all.size(), 100u);
  EXPECT_EQ(*IidShard(100, 2, 7, 3), *IidShard(100, 2, 7, 3));
  EXPECT_NE(*IidShard(100, 2, 7, 3), *IidShard(100, 2, 7, 4));
  EXPECT_EQ(IidShard(100, 7, 7, 3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IidShard(3, 0, 4, 3).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseIndexListTest, ParsesAndValidates) {
  EXPECT_THAT(*ParseIndexList("# my shard\n3 1,4\n  15 # last\n", 20), ElementsAre(3, 1, 4, 15));
  EXPECT_EQ(ParseIndexList("1 x", 20).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIndexList("1 20", 20).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIndexList("1 1", 20).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIndexList("# nothing\n", 20).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
