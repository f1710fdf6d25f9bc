#include "gateway/gateway.h"

#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "coordinator/federation.h"
#include "coordinator/testing/federation_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::Each;
using ::testing::FloatNear;
using ::testing::HasSubstr;

// A Federation of two gateways: g0 for devices a0..a2, g1 for b0. Fp32
// updates, so the arithmetic is exact; every task is capped at 2 examples
// per device, so the coordinator must scale a gateway's cap by its devices.
class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FederationOptions options;
    options.min_devices = 2;
    options.devices_per_round = 2;
    options.over_selection = 1;
    options.poll_interval = absl::Seconds(1);
    options.train.set_codec("fp32");
    options.train.set_max_examples(2);
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    verify_key_ = key->verify_key();
    auto federation = Federation::Create(options, std::make_unique<FedAvg>(), testing::TinyModel(), *std::move(key),
                                         &clock_, nullptr);
    ASSERT_TRUE(federation.ok()) << federation.status();
    federation_ = *std::move(federation);
    state_dir_ = (std::filesystem::path(::testing::TempDir()) /
                  absl::StrCat("gateway_test_", ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                     .string();
    std::filesystem::remove_all(state_dir_);
  }

  void TearDown() override { std::filesystem::remove_all(state_dir_); }

  std::unique_ptr<Gateway> MakeGateway(const std::string& id, const std::string& state_dir = "",
                                       int64_t min_devices = 1) {
    GatewayOptions options;
    options.gateway_id = id;
    options.min_devices = min_devices;
    options.site_quorum = 1;
    options.site_deadline = absl::Minutes(1);
    options.forward_margin = absl::Seconds(1);
    options.state_dir = state_dir;
    auto gateway = Gateway::Create(options, federation_.get(), verify_key_, &clock_);
    EXPECT_TRUE(gateway.ok()) << gateway.status();
    return gateway.ok() ? *std::move(gateway) : nullptr;
  }

  void Register(Gateway& gateway, const std::string& device) {
    proto::RegisterRequest request;
    request.mutable_device()->set_device_id(device);
    ASSERT_TRUE(gateway.Register(request).ok());
  }

  // Both gateways register upstream, the coordinator opens a round, and
  // both take their task.
  void OpenRound(Gateway& g0, Gateway& g1) {
    ASSERT_TRUE(g0.Tick().ok());
    ASSERT_TRUE(g1.Tick().ok());
    federation_->Tick();
    clock_.Advance(absl::Seconds(2));  // past the gateways' poll interval
    ASSERT_TRUE(g0.Tick().ok());
    ASSERT_TRUE(g1.Tick().ok());
    ASSERT_TRUE(g0.site_round_open() && g1.site_round_open());
  }

  proto::Task TaskFrom(Gateway& gateway, const std::string& device) {
    proto::PollTaskRequest request;
    request.set_device_id(device);
    request.set_eligible(true);
    auto polled = gateway.PollTask(request);
    EXPECT_TRUE(polled.ok() && polled->has_task()) << device << " got no task";
    return polled.ok() ? polled->task() : proto::Task();
  }

  absl::StatusOr<proto::UploadResponse> Send(Gateway& gateway, const std::string& device, const proto::Task& task,
                                             float value, uint64_t examples) {
    const std::string bytes =
        testing::Fp32Update(task, std::vector<float>(4, value), examples).SerializeAsString();
    proto::UploadRequest request;
    request.set_device_id(device);
    request.set_task_id(task.task_id());
    request.set_data(bytes);
    request.set_total_size(bytes.size());
    request.set_final(true);
    return gateway.Upload(request);
  }

  void ExpectAccepted(Gateway& gateway, const std::string& device, float value, uint64_t examples) {
    auto answer = Send(gateway, device, TaskFrom(gateway, device), value, examples);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_TRUE(answer->accepted());
  }

  // Forwards both sites and closes the coordinator's round.
  proto::RoundRecord Close(Gateway& g0, Gateway& g1) {
    EXPECT_TRUE(g0.Tick().ok());
    EXPECT_TRUE(g1.Tick().ok());
    std::vector<proto::RoundRecord> records = federation_->Tick();
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? proto::RoundRecord() : records[0];
  }

  FakeClock clock_;
  VerifyKey verify_key_ = *VerifyKey::FromRaw(std::string(32, '\0'));
  std::unique_ptr<Federation> federation_;
  std::string state_dir_;
};

TEST_F(GatewayTest, TwoSitesGiveTheWeightedMeanOverAllTheirDevices) {
  auto g0 = MakeGateway("g0");
  auto g1 = MakeGateway("g1");
  for (const char* d : {"a0", "a1", "a2"}) Register(*g0, d);
  Register(*g1, "b0");
  OpenRound(*g0, *g1);
  ExpectAccepted(*g0, "a0", 1, 1);
  ExpectAccepted(*g0, "a1", 2, 1);
  ExpectAccepted(*g0, "a2", 3, 2);
  ExpectAccepted(*g1, "b0", 10, 4);  // capped to the task's 2 examples

  const proto::RoundRecord record = Close(*g0, *g1);
  EXPECT_TRUE(record.succeeded());
  EXPECT_EQ(record.accepted(), 2);  // one combined update per site
  // Site g0: (1 + 2 + 3*2) / 4 with weight 4; site g1: 10 with weight 2.
  EXPECT_THAT(federation_->global_model().values, Each(FloatNear((2.25f * 4 + 10 * 2) / 6, 1e-5)));
  EXPECT_EQ(g0->counters().site_rounds_forwarded, 1);
  EXPECT_EQ(g0->counters().device_updates_accepted, 3);
  EXPECT_GT(g0->counters().bytes_from_devices, 2 * g0->counters().bytes_upstream);
}

TEST_F(GatewayTest, RefusesABadUpdateAndCountsAResubmissionOnce) {
  auto g0 = MakeGateway("g0");
  auto g1 = MakeGateway("g1");
  for (const char* d : {"a0", "a1"}) Register(*g0, d);
  Register(*g1, "b0");
  OpenRound(*g0, *g1);
  const proto::Task task = TaskFrom(*g0, "a0");
  auto bad = Send(*g0, "a0", task, std::numeric_limits<float>::quiet_NaN(), 1);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  const proto::Task a1_task = TaskFrom(*g0, "a1");
  for (int attempt = 0; attempt < 2; ++attempt) {  // the answer was lost: sent again
    auto answer = Send(*g0, "a1", a1_task, 4, 1);
    ASSERT_TRUE(answer.ok() && answer->accepted()) << answer.status();
  }
  const proto::Task b0_task = TaskFrom(*g1, "b0");
  EXPECT_EQ(Send(*g0, "a1", b0_task, 4, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectAccepted(*g1, "b0", 8, 1);

  const proto::RoundRecord record = Close(*g0, *g1);
  EXPECT_TRUE(record.succeeded());
  EXPECT_EQ(g0->counters().device_updates_rejected, 1);
  EXPECT_EQ(g0->counters().device_updates_accepted, 1);
  EXPECT_THAT(federation_->global_model().values, Each(FloatNear(6, 1e-5)));  // (4 + 8) / 2
}

TEST_F(GatewayTest, AnAcknowledgedUpdateSurvivesARestart) {
  std::filesystem::create_directories(state_dir_);
  auto g0 = MakeGateway("g0", state_dir_);
  auto g1 = MakeGateway("g1");
  for (const char* d : {"a0", "a1"}) Register(*g0, d);
  Register(*g1, "b0");
  OpenRound(*g0, *g1);
  const proto::Task a1_task = TaskFrom(*g0, "a1");
  ExpectAccepted(*g0, "a0", 2, 1);
  g0.reset();  // a crash after the acknowledgement
  g0 = MakeGateway("g0", state_dir_);
  ASSERT_TRUE(g0->site_round_open());
  auto resent = Send(*g0, "a0", a1_task, 2, 1);  // not a0's task
  EXPECT_FALSE(resent.ok());
  auto a1 = Send(*g0, "a1", a1_task, 4, 1);
  ASSERT_TRUE(a1.ok()) << a1.status();
  ExpectAccepted(*g1, "b0", 9, 2);

  const proto::RoundRecord record = Close(*g0, *g1);
  EXPECT_TRUE(record.succeeded());
  // Site g0: (2 + 4) / 2 with weight 2; site g1: 9 with weight 2.
  EXPECT_THAT(federation_->global_model().values, Each(FloatNear(6, 1e-5)));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(state_dir_) / "site_round.pb"));
}

TEST_F(GatewayTest, ASiteBelowQuorumAtItsDeadlineSendsNothing) {
  auto g0 = MakeGateway("g0");
  auto g1 = MakeGateway("g1");
  for (const char* d : {"a0", "a1"}) Register(*g0, d);
  Register(*g1, "b0");
  OpenRound(*g0, *g1);
  ExpectAccepted(*g1, "b0", 3, 1);
  clock_.Advance(absl::Minutes(2));  // past the site deadline, no update at g0
  ASSERT_TRUE(g0->Tick().ok());
  EXPECT_FALSE(g0->site_round_open());
  EXPECT_EQ(g0->counters().site_rounds_dropped, 1);
  EXPECT_EQ(g0->counters().bytes_upstream, 0);
}

TEST_F(GatewayTest, JoinsTheCoordinatorOnlyOnceItsSiteIsReady) {
  auto g0 = MakeGateway("g0", "", /*min_devices=*/2);
  Register(*g0, "a0");
  ASSERT_TRUE(g0->Tick().ok());
  EXPECT_EQ(federation_->GetStatus().registered_devices(), 0);
  Register(*g0, "a1");
  ASSERT_TRUE(g0->Tick().ok());
  EXPECT_EQ(federation_->GetStatus().registered_devices(), 1);
}

TEST_F(GatewayTest, ServesTheCoordinatorsSignedModel) {
  auto g0 = MakeGateway("g0");
  auto g1 = MakeGateway("g1");
  Register(*g0, "a0");
  Register(*g1, "b0");
  OpenRound(*g0, *g1);
  const proto::Task task = TaskFrom(*g0, "a0");
  proto::DownloadRequest request;
  request.set_device_id("a0");
  request.set_model_version(task.model_version());
  auto relayed = g0->Download(request);
  request.set_device_id("g0");
  auto original = federation_->Download(request);
  ASSERT_TRUE(relayed.ok() && original.ok());
  EXPECT_EQ(relayed->data(), original->data());
  request.set_model_version(task.model_version() + 1);
  EXPECT_THAT(g0->Download(request).status().message(), HasSubstr("does not serve global model version"));

  proto::PollTaskRequest stranger;
  stranger.set_device_id("nobody");
  EXPECT_TRUE(absl::IsNotFound(g0->PollTask(stranger).status()));
}

}  // namespace
}  // namespace fedge
