// The Federation's staged rollout: which version each device is told, what
// it may download, abort and operator control, the record metrics, and
// resuming the rollout from the store. The rules themselves: rollout_test.cc.
#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "coordinator/degrading_deployer.h"
#include "coordinator/federation.h"
#include "coordinator/store/sqlite_state_store.h"
#include "coordinator/testing/federation_fixtures.h"
#include "core/artifact.h"
#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

constexpr int kDevices = 20;

std::string SignedInt8(const SigningKey& key, uint64_t version) {
  proto::ArtifactBody body = *testing::BuildCalibrated(testing::StudentCnn(1), 4, 1);
  body.mutable_header()->set_model_id("fedge");
  body.mutable_header()->set_version(version);
  body.mutable_header()->set_parent_version(1);
  body.mutable_header()->set_dtype(proto::DTYPE_INT8);
  return *SignArtifact(body, key);
}

FederationOptions WithRollout() {
  FederationOptions o;
  o.min_devices = kDevices;
  o.devices_per_round = 1;
  o.rollout.enabled = true;
  o.rollout.stages = {{.fraction = 0.1, .min_devices = 2, .soak = absl::Seconds(30)},
                      {.fraction = 1.0, .min_devices = 1, .soak = absl::ZeroDuration()}};
  o.rollout.max_failure_share = 0.25;
  return o;
}

class FederationRolloutTest : public ::testing::Test {
 protected:
  void Start(FederationOptions options, StateStore* store = nullptr) {
    options.store = store;
    auto key = SigningKey::Generate();
    if (!key_) key_ = *key;
    auto f = Federation::Create(options, std::make_unique<FedAvg>(), testing::TinyModel(), *key_, &clock_, nullptr);
    ASSERT_TRUE(f.ok()) << f.status();
    federation_ = *std::move(f);
    for (int i = 0; i < kDevices; ++i) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(absl::StrCat("d", i));
      ASSERT_TRUE(federation_->Register(r).ok());
    }
  }

  uint64_t Told(const std::string& device) {
    proto::PollTaskRequest r;
    r.set_device_id(device);
    r.set_eligible(false);  // no training tasks, only the deployed version
    absl::StatusOr<proto::PollTaskResponse> p = federation_->PollTask(r);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->deployed_model_version() : 0;
  }
  std::set<std::string> ToldVersion(uint64_t version) {
    std::set<std::string> ids;
    for (int i = 0; i < kDevices; ++i) {
      if (Told(absl::StrCat("d", i)) == version) ids.insert(absl::StrCat("d", i));
    }
    return ids;
  }
  absl::Status Download(const std::string& device, uint64_t version) {
    proto::DownloadRequest r;
    r.set_device_id(device);
    r.set_artifact(proto::ARTIFACT_DEPLOYED_MODEL);
    r.set_model_version(version);
    return federation_->Download(r).status();
  }
  void Report(const std::string& device, uint64_t serving, uint64_t version, proto::ModelHealthOutcome outcome) {
    proto::DeviceReport r;
    r.set_device_id(device);
    r.set_inference_model_version(serving);
    r.mutable_model_health()->set_version(version);
    r.mutable_model_health()->set_outcome(outcome);
    ASSERT_TRUE(federation_->Report(r).ok());
  }
  // Publishes `version` and runs its rollout to completion with healthy reports.
  void RollOutHealthy(uint64_t version) {
    ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, version)).ok());
    federation_->Tick();
    for (int stage = 0; stage < 3 && federation_->GetRollout().state() != proto::ROLLOUT_COMPLETED; ++stage) {
      for (const std::string& id : ToldVersion(version)) Report(id, version, version, proto::MODEL_HEALTH_OK);
      clock_.Advance(absl::Seconds(30));
      federation_->Tick();
    }
    ASSERT_EQ(federation_->GetRollout().state(), proto::ROLLOUT_COMPLETED);
  }

  FakeClock clock_;
  std::optional<SigningKey> key_;
  std::unique_ptr<Federation> federation_;
};

TEST_F(FederationRolloutTest, CanaryGetsTheNewVersionOthersKeepThePreviousOne) {
  Start(WithRollout());
  RollOutHealthy(1);
  EXPECT_EQ(ToldVersion(1).size(), static_cast<size_t>(kDevices));

  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 2)).ok());
  federation_->Tick();
  const std::set<std::string> canary = ToldVersion(2);
  EXPECT_GE(canary.size(), 2u);
  EXPECT_LT(canary.size(), 8u);
  EXPECT_EQ(ToldVersion(1).size(), kDevices - canary.size());
  // Both versions can be downloaded while the rollout runs.
  EXPECT_TRUE(Download(*canary.begin(), 2).ok());
  EXPECT_TRUE(Download("d0", 1).ok());
  EXPECT_EQ(Download("d0", 7).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FederationRolloutTest, FailingCanaryAbortsAndEveryDeviceIsToldThePreviousVersion) {
  Start(WithRollout());
  RollOutHealthy(1);
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 2)).ok());
  federation_->Tick();
  for (const std::string& id : ToldVersion(2)) Report(id, 1, 2, proto::MODEL_HEALTH_CHECK_FAILED);
  federation_->Tick();
  const proto::RolloutStatus status = federation_->GetRollout();
  EXPECT_EQ(status.state(), proto::ROLLOUT_ABORTED);
  EXPECT_THAT(status.reason(), HasSubstr("health check failed"));
  EXPECT_EQ(ToldVersion(1).size(), static_cast<size_t>(kDevices));
  EXPECT_TRUE(Download("d3", 1).ok());
  // A newer deployment starts a new rollout from the version the fleet serves.
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 3)).ok());
  federation_->Tick();
  EXPECT_EQ(federation_->GetRollout().previous_version(), 1u);
  EXPECT_EQ(federation_->GetRollout().state(), proto::ROLLOUT_RUNNING);
}

TEST_F(FederationRolloutTest, OperatorRollbackAndRefusals) {
  Start(WithRollout());
  RollOutHealthy(1);
  EXPECT_EQ(federation_->ControlRollout(proto::RolloutControlRequest::PAUSE).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 2)).ok());
  federation_->Tick();
  ASSERT_TRUE(federation_->ControlRollout(proto::RolloutControlRequest::PROMOTE).ok());
  EXPECT_EQ(ToldVersion(2).size(), static_cast<size_t>(kDevices));
  absl::StatusOr<proto::RolloutStatus> back = federation_->ControlRollout(proto::RolloutControlRequest::ROLLBACK);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state(), proto::ROLLOUT_ABORTED);
  EXPECT_EQ(ToldVersion(1).size(), static_cast<size_t>(kDevices));
}

TEST_F(FederationRolloutTest, APublishedDeploymentIsToldToNobodyBeforeItsRolloutStarts) {
  Start(WithRollout());
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 1)).ok());
  EXPECT_EQ(ToldVersion(0).size(), static_cast<size_t>(kDevices));
  federation_->Tick();
  EXPECT_GE(ToldVersion(1).size(), 2u);
}

TEST_F(FederationRolloutTest, OffByDefault) {
  FederationOptions o = WithRollout();
  o.rollout.enabled = false;
  Start(o);
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 1)).ok());
  federation_->Tick();
  EXPECT_EQ(ToldVersion(1).size(), static_cast<size_t>(kDevices));
  EXPECT_EQ(federation_->GetRollout().state(), proto::ROLLOUT_NONE);
  EXPECT_THAT(federation_->ControlRollout(proto::RolloutControlRequest::PAUSE).status().message(),
              HasSubstr("staged rollout is off"));
}

TEST_F(FederationRolloutTest, ResumesTheRolloutAfterARestart) {
  const std::string dir = (std::filesystem::path(::testing::TempDir()) / "rollout_resume").string();
  std::filesystem::remove_all(dir);
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir});
  ASSERT_TRUE(store.ok()) << store.status();
  Start(WithRollout(), store->get());
  RollOutHealthy(1);
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 2)).ok());
  federation_->Tick();
  const std::set<std::string> canary = ToldVersion(2);

  federation_.reset();
  Start(WithRollout(), store->get());
  EXPECT_EQ(federation_->GetRollout().state(), proto::ROLLOUT_RUNNING);
  EXPECT_EQ(ToldVersion(2), canary);
  EXPECT_TRUE(Download("d0", 1).ok());  // the previous version's artifact came back from the store
  for (const std::string& id : canary) Report(id, 1, 2, proto::MODEL_HEALTH_LOAD_FAILED);
  federation_->Tick();
  EXPECT_EQ(federation_->GetRollout().state(), proto::ROLLOUT_ABORTED);
}

TEST_F(FederationRolloutTest, RecordsCarryTheRolloutsStateAndTransitions) {
  FederationOptions o = WithRollout();
  o.max_rounds = 2;
  o.min_devices = 1;
  Start(o);
  ASSERT_TRUE(federation_->PublishDeployedModel(SignedInt8(*key_, 1)).ok());
  federation_->Tick();  // opens round 1 and starts the rollout
  clock_.Advance(absl::Minutes(11));  // past the round's deadline: it fails without updates
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].metrics().at("rollout_state"), proto::ROLLOUT_RUNNING);
  EXPECT_EQ(records[0].metrics().at("rollout_stage"), 1);
  EXPECT_EQ(records[0].metrics().at("rollout_version"), 1);
}

// Zeroes every tensor from version 2 on and signs again.
TEST(DegradingDeployerTest, DegradesFromTheGivenVersionAndSignsAgain) {
  struct Inner final : public ModelDeployer {
    absl::StatusOr<Deployment> Deploy(const ModelParams&, uint64_t, uint64_t version) override {
      return Deployment{.artifact = SignedInt8(*key, version), .metrics = {}};
    }
    std::optional<SigningKey> key;
  } inner;
  inner.key = *SigningKey::Generate();
  DegradingDeployer degrading(&inner, &*inner.key, 2);
  absl::StatusOr<Deployment> good = degrading.Deploy(testing::TinyModel(), 1, 1);
  absl::StatusOr<Deployment> bad = degrading.Deploy(testing::TinyModel(), 1, 2);
  ASSERT_TRUE(good.ok() && bad.ok());
  EXPECT_EQ(good->metrics.count("test_degraded"), 0u);
  EXPECT_EQ(bad->metrics.at("test_degraded"), 1);
  absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(bad->artifact, inner.key->verify_key());
  ASSERT_TRUE(body.ok()) << body.status();  // still validly signed
  for (const proto::TensorProto& t : body->tensors()) {
    EXPECT_EQ(t.data(), std::string(t.data().size(), '\0')) << t.name();
  }
}

}  // namespace
}  // namespace fedge
