#include "mqtt/mqtt_transport.h"

#include <filesystem>
#include <string>

#include "absl/time/clock.h"
#include "core/tls.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge::mqtt {
namespace {

using ::testing::HasSubstr;

class MqttTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / "mqtt_transport_test";
    absl::StatusOr<TlsKeyCertPair> pair = GenerateSelfSignedCert({.common_name = "device-0"});
    ASSERT_TRUE(pair.ok()) << pair.status();
    ASSERT_TRUE(WriteKeyCertPair(*pair, dir_.string()).ok());
    options_.connection.ca_pem_path = (dir_ / "cert.pem").string();
    options_.connection.cert_pem_path = (dir_ / "cert.pem").string();
    options_.connection.key_pem_path = (dir_ / "key.pem").string();
    options_.connection.client_id = "device-0";
    // A port nothing listens on: connecting is refused at once.
    options_.connection.broker = "ssl://127.0.0.1:1";
    options_.rpc_timeout = absl::Seconds(5);
    options_.connect_wait = absl::Seconds(2);
  }

  std::filesystem::path dir_;
  MqttTransportOptions options_;
};

TEST_F(MqttTransportTest, AnUnreachableBrokerIsTransient) {
  absl::StatusOr<std::unique_ptr<MqttTransport>> transport = MqttTransport::Create(options_);
  ASSERT_TRUE(transport.ok()) << transport.status();
  proto::PollTaskRequest poll;
  poll.set_device_id("device-0");
  const absl::Time start = absl::Now();
  const absl::StatusOr<proto::PollTaskResponse> response = (*transport)->PollTask(poll);
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_TRUE(IsTransient(response.status()));
  EXPECT_THAT(response.status().message(), HasSubstr("ssl://127.0.0.1:1"));
  EXPECT_LE(absl::Now() - start, options_.connect_wait + absl::Seconds(1)) << "waited out more than connect_wait";
  // The next call tries again rather than remembering the failure.
  EXPECT_TRUE(absl::IsUnavailable((*transport)->PollTask(poll).status()));
  EXPECT_EQ((*transport)->stats().calls, 2u);
  EXPECT_EQ((*transport)->stats().failed_calls, 2u);
}

TEST_F(MqttTransportTest, CreateRefusesBadOptions) {
  auto refused = [](const MqttTransportOptions& options, const std::string& what) {
    const absl::Status status = MqttTransport::Create(options).status();
    EXPECT_FALSE(status.ok()) << what;
    EXPECT_THAT(std::string(status.message()), HasSubstr(what));
  };
  MqttTransportOptions o = options_;
  o.connection.broker = "tcp://127.0.0.1:1883";
  refused(o, "TLS is required");
  o = options_;
  o.connection.key_pem_path.clear();
  refused(o, "mqtt.key");
  o = options_;
  o.connection.ca_pem_path = (dir_ / "missing.pem").string();
  refused(o, "does not exist");
  o = options_;
  o.connection.client_id = "a/b";
  refused(o, "topic level");
  o = options_;
  o.connection.topic_prefix = "fedge/#";
  refused(o, "wildcard");
  o = options_;
  o.rpc_timeout = absl::ZeroDuration();
  refused(o, "rpc_timeout");
}

}  // namespace
}  // namespace fedge::mqtt
