#include "client/device.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client/testing/device_fakes.h"
#include "compression/codec.h"
#include "core/artifact.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/model_slot.h"
#include "inference/testing/test_models.h"
#include "models/testing/synthetic_data.h"
#include "models/torch_evaluator.h"
#include "privacy/privacy_ledger.h"

namespace fedge {
namespace {

using ::testing::ElementsAre;

class DeviceTest : public ::testing::Test {
 protected:
  DeviceTest() : key_(*SigningKey::Generate()), coordinator_(&clock_, key_) {
    options_.device_id = "phone-1";
    options_.seed = 42;
    options_.download_chunk_bytes = 64;
    options_.upload_chunk_bytes = 50;
    options_.retry.initial_backoff = absl::Milliseconds(100);
    options_.retry.max_backoff = absl::Seconds(10);
  }

  std::unique_ptr<Device> MakeDevice() {
    auto device = Device::Create(options_, &coordinator_, &clock_, &trainer_, key_.verify_key());
    EXPECT_TRUE(device.ok()) << device.status();
    return *std::move(device);
  }

  FakeClock clock_;
  SigningKey key_;
  FakeCoordinator coordinator_;
  FakeTrainer trainer_;
  DeviceOptions options_;
};

TEST_F(DeviceTest, TrainsOnATaskAndUploadsTheEncodedDelta) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  ASSERT_TRUE(step->had_task);
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;
  EXPECT_EQ(step->task_id, "task-3");

  ASSERT_EQ(coordinator_.registrations.size(), 1u);
  EXPECT_EQ(coordinator_.registrations[0].device().num_examples(), 120u);
  EXPECT_EQ(coordinator_.accepted, 1);
  const proto::EncodedUpdate& update = coordinator_.update;
  EXPECT_EQ(update.round(), 3u);
  EXPECT_EQ(update.task_id(), "task-3");
  EXPECT_EQ(update.base_version(), 7u);
  EXPECT_EQ(update.layout_id(), TestLayout().id());
  EXPECT_EQ(update.num_elements(), 36u);
  EXPECT_EQ(update.codec(), "fp32");
  EXPECT_EQ(update.num_examples(), 100u);
  EXPECT_EQ(update.metrics().at("train_loss"), 0.25);
  for (float v : Decode(update)) EXPECT_NEAR(v, 0.5f, 1e-6);
  EXPECT_THAT(trainer_.seeds, ElementsAre(DeriveSeed(42, 3)));

  // The model came in 64-byte chunks, the update went out in 50-byte chunks.
  EXPECT_EQ(coordinator_.download_offsets.size(), (coordinator_.model().size() + 63) / 64);
  EXPECT_GT(coordinator_.upload_offsets.size(), 2u);
  // Only the first chunk says what the update is.
  ASSERT_EQ(coordinator_.upload_headers.size(), 1u);
  EXPECT_EQ(coordinator_.upload_headers[0].first, 0u);
  EXPECT_EQ(coordinator_.upload_headers[0].second.SerializeAsString(), UpdateHeaderOf(update).SerializeAsString());
  // Training metrics travel once, in the update; the report carries traffic.
  ASSERT_EQ(coordinator_.reports.size(), 1u);
  EXPECT_FALSE(coordinator_.reports[0].metrics().contains("train_loss"));
  EXPECT_EQ(coordinator_.reports[0].metrics().at("update_bytes"), update.ByteSizeLong());
  const DeviceCounters c = device->counters();
  EXPECT_EQ(c.tasks_done, 1u);
  EXPECT_EQ(c.tasks_failed, 0u);
  EXPECT_EQ(c.bytes_down, coordinator_.model().size());
  EXPECT_EQ(c.bytes_up, update.ByteSizeLong());
}

TEST_F(DeviceTest, ReportsDriftAlarmsWithItsLatestMetrics) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.reports.size(), 1u);
  EXPECT_TRUE(device->ReportDrift({}).ok());  // nothing to send
  EXPECT_EQ(coordinator_.reports.size(), 1u);
  proto::DriftAlarm alarm;
  alarm.set_detector("page_hinkley");
  alarm.set_statistic(61.5);
  alarm.set_samples_seen(420);
  ASSERT_TRUE(device->ReportDrift({alarm}).ok());
  ASSERT_EQ(coordinator_.reports.size(), 2u);
  const proto::DeviceReport& report = coordinator_.reports[1];
  EXPECT_EQ(report.device_id(), "phone-1");
  ASSERT_EQ(report.alarms_size(), 1);
  EXPECT_EQ(report.alarms(0).detector(), "page_hinkley");
  EXPECT_EQ(report.alarms(0).statistic(), 61.5);
  EXPECT_EQ(report.alarms(0).samples_seen(), 420u);
  EXPECT_GT(report.metrics().at("update_bytes"), 0);  // repeated from the last task
}

// A signed INT8 student CNN of `version` (model_id "test").
std::string DeployedModel(const SigningKey& key, uint64_t version) {
  static const proto::ArtifactBody* body =
      new proto::ArtifactBody(*testing::BuildCalibrated(testing::StudentCnn(100), 4, 200));
  proto::ArtifactBody versioned = *body;
  versioned.mutable_header()->set_model_id("test");
  versioned.mutable_header()->set_version(version);
  return *SignArtifact(versioned, key);
}

// The fake coordinator advertises deployed `version` (signed with `key`) and
// `device` polls once.
void Advertise(FakeCoordinator& coordinator, Device& device, const SigningKey& key, uint64_t version) {
  if (!coordinator.deployed.contains(version)) coordinator.deployed[version] = DeployedModel(key, version);
  coordinator.deployed_version = version;
  ASSERT_TRUE(device.RunOnce().ok());
}

TEST_F(DeviceTest, InstallsTheAdvertisedDeployedModelOnceAndReportsServingIt) {
  ModelSlot slot(key_.verify_key(), {});
  options_.inference_slot = &slot;
  coordinator_.deployed[1] = DeployedModel(key_, 1);
  coordinator_.deployed_version = 1;
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;  // training goes on as before
  EXPECT_EQ(slot.active_version(), 1u);
  EXPECT_EQ(device->counters().inference_installs, 1u);
  // One report at once for the install (the staged rollout waits for it),
  // one after the task; both say what it serves and that it is healthy.
  ASSERT_EQ(coordinator_.reports.size(), 2u);
  for (const proto::DeviceReport& r : coordinator_.reports) {
    EXPECT_EQ(r.inference_model_version(), 1u);
    EXPECT_EQ(r.model_health().version(), 1u);
    EXPECT_EQ(r.model_health().outcome(), proto::MODEL_HEALTH_OK);
  }
  const size_t chunks = coordinator_.deployed_downloads.size();
  EXPECT_GT(chunks, 1u);  // fetched in 64-byte chunks
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(coordinator_.deployed_downloads.size(), chunks);  // already serving it
}

TEST_F(DeviceTest, ARefusedDeployedModelKeepsTheOldOneServingAndIsNotFetchedAgain) {
  ModelSlot slot(key_.verify_key(), {});
  options_.inference_slot = &slot;
  auto device = MakeDevice();
  coordinator_.deployed[1] = DeployedModel(key_, 1);
  coordinator_.deployed_version = 1;
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(slot.active_version(), 1u);

  std::string tampered = DeployedModel(key_, 2);
  tampered[tampered.size() / 2] ^= 0x01;
  coordinator_.deployed[2] = tampered;
  coordinator_.deployed_version = 2;
  ASSERT_TRUE(device->RunOnce().ok());  // a refused model does not fail the step
  EXPECT_EQ(slot.active_version(), 1u);
  EXPECT_EQ(device->counters().artifacts_rejected, 1u);
  const size_t chunks = coordinator_.deployed_downloads.size();
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(coordinator_.deployed_downloads.size(), chunks);

  coordinator_.deployed[3] = DeployedModel(SigningKey::Generate().value(), 3);  // another key
  coordinator_.deployed_version = 3;
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(slot.active_version(), 1u);
  coordinator_.deployed[4] = DeployedModel(key_, 4);
  coordinator_.deployed_version = 4;
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(slot.active_version(), 4u);
  EXPECT_EQ(slot.previous_version(), 1u);
  EXPECT_EQ(device->counters().inference_installs, 2u);
}

TEST_F(DeviceTest, AModelFailingItsHealthCheckIsRolledBackAndReported) {
  ModelSlot slot(key_.verify_key(), {});
  options_.inference_slot = &slot;
  options_.inference_min_accuracy = 0.5;
  double accuracy = 0.9;  // what the held-back examples give the next model
  options_.inference_health_check = [&](const ModelHandle& model) -> absl::StatusOr<std::optional<double>> {
    EXPECT_TRUE(model);
    return std::optional<double>(accuracy);
  };
  auto device = MakeDevice();
  Advertise(coordinator_, *device, key_, 1);
  ASSERT_EQ(slot.active_version(), 1u);

  accuracy = 0.1;
  Advertise(coordinator_, *device, key_, 2);
  EXPECT_EQ(slot.active_version(), 1u);  // rolled back
  EXPECT_EQ(device->counters().inference_installs, 2u);
  EXPECT_EQ(device->counters().inference_rollbacks, 1u);
  const proto::DeviceReport& report = coordinator_.reports.back();
  EXPECT_EQ(report.inference_model_version(), 1u);
  EXPECT_EQ(report.model_health().version(), 2u);
  EXPECT_EQ(report.model_health().outcome(), proto::MODEL_HEALTH_CHECK_FAILED);
  EXPECT_TRUE(report.model_health().has_accuracy());
  EXPECT_DOUBLE_EQ(report.model_health().accuracy(), 0.1);
  EXPECT_THAT(report.model_health().detail(), ::testing::HasSubstr("held-back accuracy 0.100 < 0.500"));
  // Not fetched again while it is advertised.
  const size_t chunks = coordinator_.deployed_downloads.size();
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(coordinator_.deployed_downloads.size(), chunks);

  // A failing inference is a failed check too.
  options_.inference_health_check = [](const ModelHandle&) -> absl::StatusOr<std::optional<double>> {
    return absl::InvalidArgumentError("the device's examples have 12 features");
  };
  auto other = MakeDevice();
  Advertise(coordinator_, *other, key_, 3);
  EXPECT_EQ(slot.active_version(), 1u);
  EXPECT_THAT(coordinator_.reports.back().model_health().detail(), ::testing::HasSubstr("inference failed"));
}

TEST_F(DeviceTest, ReturnsToAnOlderVersionWhenTheCoordinatorRollsBack) {
  ModelSlot slot(key_.verify_key(), {});
  options_.inference_slot = &slot;
  auto device = MakeDevice();
  Advertise(coordinator_, *device, key_, 1);
  Advertise(coordinator_, *device, key_, 2);
  ASSERT_EQ(slot.active_version(), 2u);
  const size_t chunks = coordinator_.deployed_downloads.size();

  Advertise(coordinator_, *device, key_, 1);  // the coordinator aborted the rollout of 2
  EXPECT_EQ(slot.active_version(), 1u);
  EXPECT_EQ(coordinator_.deployed_downloads.size(), chunks);  // the fallback: no download
  EXPECT_EQ(device->counters().inference_rollbacks, 1u);
  EXPECT_EQ(coordinator_.reports.back().inference_model_version(), 1u);

  // When the version it returns to is not the fallback, it is downloaded.
  Advertise(coordinator_, *device, key_, 3);
  Advertise(coordinator_, *device, key_, 4);
  ASSERT_EQ(slot.active_version(), 4u);
  ASSERT_EQ(slot.previous_version(), 3u);
  const size_t before = coordinator_.deployed_downloads.size();
  Advertise(coordinator_, *device, key_, 1);
  EXPECT_EQ(slot.active_version(), 1u);
  EXPECT_GT(coordinator_.deployed_downloads.size(), before);
  EXPECT_EQ(device->counters().inference_rollbacks, 2u);
}

TEST_F(DeviceTest, DownloadResumesFromTheReachedOffsetAfterATransientError) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  coordinator_.download_failures[3] = absl::UnavailableError("link down");
  coordinator_.download_failures[4] = absl::DeadlineExceededError("slow");
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;
  const auto& offsets = coordinator_.download_offsets;
  ASSERT_GE(offsets.size(), 5u);
  EXPECT_THAT(std::vector<uint64_t>(offsets.begin(), offsets.begin() + 5), ElementsAre(0, 64, 128, 128, 128));
  EXPECT_EQ(device->counters().retries, 2u);
  EXPECT_EQ(device->counters().bytes_down, coordinator_.model().size());
  EXPECT_EQ(coordinator_.accepted, 1);
}

TEST_F(DeviceTest, UploadResumesFromTheCommittedOffset) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  coordinator_.upload_failures[2] = absl::UnavailableError("reset by peer");
  coordinator_.lost_uploads = {3};  // the retried chunk is acknowledged but lost
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;
  const auto& offsets = coordinator_.upload_offsets;
  ASSERT_GE(offsets.size(), 5u);
  // 0 ok; 50 fails; 50 retried but lost -> coordinator still at 50; 50 again; then 100.
  EXPECT_THAT(std::vector<uint64_t>(offsets.begin(), offsets.begin() + 5), ElementsAre(0, 50, 50, 50, 100));
  EXPECT_EQ(coordinator_.accepted, 1);
  for (float v : Decode(coordinator_.update)) EXPECT_NEAR(v, 0.5f, 1e-6);
  EXPECT_EQ(device->counters().tasks_done, 1u);
  // The chunk the coordinator answered but lost went twice; the attempt that
  // failed reached nobody and is not traffic.
  EXPECT_EQ(device->counters().bytes_up, coordinator_.update.ByteSizeLong() + 50);
}

TEST_F(DeviceTest, RefusesATamperedModelAndUploadsNothing) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  std::string& model = coordinator_.model();
  model[model.size() / 2] ^= 0x01;  // inside the tensors
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->task_status.code(), absl::StatusCode::kPermissionDenied) << step->task_status;
  EXPECT_TRUE(coordinator_.upload_offsets.empty());
  EXPECT_TRUE(trainer_.seeds.empty());
  ASSERT_EQ(coordinator_.reports.size(), 1u);
  EXPECT_EQ(coordinator_.reports[0].metrics().at("artifact_rejected"), 1);
  EXPECT_EQ(device->counters().artifacts_rejected, 1u);
  EXPECT_EQ(device->counters().tasks_failed, 1u);
}

TEST_F(DeviceTest, RefusesAModelSignedByAnotherKey) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  auto device = Device::Create(options_, &coordinator_, &clock_, &trainer_, SigningKey::Generate()->verify_key());
  ASSERT_TRUE(device.ok());
  auto step = (*device)->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->task_status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(coordinator_.upload_offsets.empty());
}

TEST_F(DeviceTest, RefusesAModelOfAnotherArchitecture) {
  proto::Task task = coordinator_.MakeTask(1);
  task.set_architecture("cnn_small");
  coordinator_.tasks.push_back(task);
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->task_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(coordinator_.upload_offsets.empty());
}

TEST_F(DeviceTest, BackoffGrowsExponentiallyWithinJitterBounds) {
  options_.retry.max_attempts = 5;
  options_.retry.jitter = 0.25;
  for (size_t call = 1; call <= 4; ++call) coordinator_.poll_failures[call] = absl::UnavailableError("down");
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_FALSE(step->had_task);
  EXPECT_EQ(step->retry_after, absl::Seconds(1));
  const auto& t = coordinator_.poll_times;
  ASSERT_EQ(t.size(), 5u);
  for (size_t k = 0; k + 1 < t.size(); ++k) {
    const double base = 0.1 * std::pow(2.0, k);
    const double waited = absl::ToDoubleSeconds(t[k + 1] - t[k]);
    EXPECT_GE(waited, base * 0.75 - 1e-9) << "retry " << k;
    EXPECT_LE(waited, base * 1.25 + 1e-9) << "retry " << k;
  }
  EXPECT_EQ(device->counters().retries, 4u);
}

TEST_F(DeviceTest, GivesUpAfterMaxAttempts) {
  options_.retry.max_attempts = 3;
  for (size_t call = 1; call <= 10; ++call) coordinator_.poll_failures[call] = absl::UnavailableError("down");
  auto device = MakeDevice();
  EXPECT_EQ(device->RunOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(coordinator_.polls.size(), 3u);
}

TEST_F(DeviceTest, DoesNotRetryAnAnswer) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  coordinator_.upload_failures[1] = absl::FailedPreconditionError("round closed");
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->task_status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(coordinator_.upload_offsets.size(), 1u);
  EXPECT_EQ(device->counters().retries, 0u);
  ASSERT_EQ(coordinator_.reports.size(), 1u);
  EXPECT_EQ(coordinator_.reports[0].metrics().at("task_failed"), 1);
}

TEST_F(DeviceTest, ClipsTheDeltaToTheTasksNormHint) {
  proto::Task task = coordinator_.MakeTask(1);
  task.mutable_train()->set_update_clip_norm(0.3);
  coordinator_.tasks.push_back(task);
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 1);
  const std::vector<float> delta = Decode(coordinator_.update);
  EXPECT_NEAR(std::sqrt(SquaredNorm(delta)), 0.3, 1e-5);
  EXPECT_NEAR(coordinator_.update.metrics().at("update_norm"), 0.5 * 6, 1e-5);  // sqrt(36) * 0.5
}

TEST_F(DeviceTest, EncodesWithTheTasksCodecAndFeedsBackTheResidual) {
  for (int round = 1; round <= 2; ++round) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_codec("topk:0.25>int8");
    coordinator_.tasks.push_back(task);
  }
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 1);
  EXPECT_EQ(coordinator_.update.codec(), "topk:0.25>int8");
  const std::vector<float> first = Decode(coordinator_.update);
  EXPECT_EQ(std::count_if(first.begin(), first.end(), [](float v) { return v != 0; }), 9);
  // The 27 elements top-k held back carry 0.5 into round 2, where they are 1.0.
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 2);
  const std::vector<float> second = Decode(coordinator_.update);
  EXPECT_NEAR(*std::max_element(second.begin(), second.end()), 1.0f, 0.02f);
}

TEST_F(DeviceTest, TheResidualSurvivesARestart) {
  for (int round = 1; round <= 2; ++round) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_codec("topk:0.25>int8");
    coordinator_.tasks.push_back(task);
  }
  options_.state_dir = ::testing::TempDir() + "/device_residual_state";
  std::filesystem::remove_all(options_.state_dir);
  EXPECT_EQ(Device::Create(options_, &coordinator_, &clock_, &trainer_, key_.verify_key()).status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a state_dir without a key would keep the residual in the clear";
  options_.state_key = *SealingKey::Generate();
  ASSERT_TRUE(MakeDevice()->RunOnce().ok());  // then the device "restarts"
  // What is on disk is sealed: 3/4 of the 0.5 deltas stay in the residual,
  // and no float 0.5 appears in the file.
  const std::string stored = *ReadFile(options_.state_dir + "/encoder.state");
  const float half = 0.5f;
  EXPECT_EQ(stored.find(std::string(reinterpret_cast<const char*>(&half), sizeof(half))), std::string::npos);
  EXPECT_EQ(stored.find("topk"), std::string::npos);
  ASSERT_TRUE(MakeDevice()->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 2);
  const std::vector<float> second = Decode(coordinator_.update);
  EXPECT_NEAR(*std::max_element(second.begin(), second.end()), 1.0f, 0.02f);  // as without a restart
}

TEST_F(DeviceTest, AnAlteredResidualIsDiscarded) {
  for (int round = 1; round <= 2; ++round) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_codec("topk:0.25>int8");
    coordinator_.tasks.push_back(task);
  }
  options_.state_dir = ::testing::TempDir() + "/device_altered_residual";
  std::filesystem::remove_all(options_.state_dir);
  options_.state_key = *SealingKey::Generate();
  ASSERT_TRUE(MakeDevice()->RunOnce().ok());
  const std::string path = options_.state_dir + "/encoder.state";
  std::string stored = *ReadFile(path);
  stored[stored.size() / 2] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomically(path, stored).ok());
  ASSERT_TRUE(MakeDevice()->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 2);
  const std::vector<float> second = Decode(coordinator_.update);
  EXPECT_NEAR(*std::max_element(second.begin(), second.end()), 0.5f, 0.02f) << "no residual carried over";
}

TEST_F(DeviceTest, AnUndeliveredUpdateGivesItsMassBackToTheResidual) {
  for (int round = 1; round <= 2; ++round) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_codec("topk:0.25>int8");
    task.set_deadline_unix_micros(round == 1 ? 1 : 0);  // round 1's deadline has passed: nothing is sent
    coordinator_.tasks.push_back(task);
  }
  auto device = MakeDevice();
  auto first = device->RunOnce();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(first->task_status)) << first->task_status;
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 1);
  const std::vector<float> second = Decode(coordinator_.update);
  // Only round 2's own 0.5s: the undelivered round 1 left no residual behind.
  EXPECT_NEAR(*std::max_element(second.begin(), second.end()), 0.5f, 0.02f);
}

TEST_F(DeviceTest, PrepareStepStopsBeforeTheUploadAndFinishStepLearnsTheVerdict) {
  for (int round = 1; round <= 2; ++round) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_codec("topk:0.25>int8");
    coordinator_.tasks.push_back(task);
  }
  coordinator_.refused_tasks.insert("task-1");  // e.g. the round reached its target first
  auto device = MakeDevice();
  auto prepared = device->PrepareStep();
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_TRUE(prepared->task_status.ok());
  EXPECT_GT(prepared->pending_upload_bytes, 0u);
  EXPECT_TRUE(coordinator_.upload_offsets.empty()) << "nothing is sent before FinishStep";
  EXPECT_EQ(trainer_.seeds.size(), 1u);
  EXPECT_EQ(device->PrepareStep().status().code(), absl::StatusCode::kFailedPrecondition)
      << "a second step while an update waits";
  const StepResult finished = device->FinishStep(*std::move(prepared));
  EXPECT_TRUE(absl::IsFailedPrecondition(finished.task_status)) << finished.task_status;
  EXPECT_EQ(finished.pending_upload_bytes, 0u);
  EXPECT_EQ(device->counters().tasks_failed, 1u);
  // The residual is back to before the refused encode: round 2 sends only
  // its own 0.5s (had the device taken the update as delivered, the 3/4
  // top-k held back would make them 1.0).
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 1);
  const std::vector<float> second = Decode(coordinator_.update);
  EXPECT_NEAR(*std::max_element(second.begin(), second.end()), 0.5f, 0.02f);
  EXPECT_EQ(device->counters().tasks_done, 1u);
}

TEST_F(DeviceTest, RefusesAnUnknownCodec) {
  proto::Task task = coordinator_.MakeTask(1);
  task.mutable_train()->set_codec("gzip");
  coordinator_.tasks.push_back(task);
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->task_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(coordinator_.upload_offsets.empty());
}

TEST_F(DeviceTest, ChargesItsLedgerAndRefusesTasksBeyondTheBudget) {
  const std::string path = ::testing::TempDir() + "/device_ledger_test";
  std::filesystem::remove(path);
  auto ledger = PrivacyLedger::Open(path, {.epsilon = 2.5, .delta = 1e-5});
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  // A task is q 0.01, sigma 1, 1000 steps: epsilon 2.10 alone, about 2.9 for two; the budget is 2.5.
  trainer_.privacy = SgmEvent{.sample_rate = 0.01, .noise_multiplier = 1.0, .steps = 1000};
  options_.privacy_ledger = ledger->get();
  coordinator_.tasks = {coordinator_.MakeTask(1), coordinator_.MakeTask(2)};
  auto device = MakeDevice();
  auto first = device->RunOnce();
  ASSERT_TRUE(first.ok() && first->task_status.ok()) << first.status();
  EXPECT_NEAR((*ledger)->Epsilon(), 2.1014, 1e-3);
  EXPECT_NEAR(coordinator_.update.privacy().epsilon_total(), (*ledger)->Epsilon(), 1e-12);
  auto second = device->RunOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(second->task_status)) << second->task_status;
  EXPECT_EQ(coordinator_.accepted, 1);  // nothing trained or sent for the refused task
  EXPECT_EQ(trainer_.seeds.size(), 1u);
  EXPECT_NEAR((*ledger)->Epsilon(), 2.1014, 1e-3);  // and nothing charged
  EXPECT_EQ(coordinator_.reports.back().metrics().at("privacy_budget_refused"), 1);
  EXPECT_GT(coordinator_.reports.back().epsilon_spent(), 2);
  ASSERT_TRUE(device->RunOnce().ok());  // from now on it says why it cannot train
  EXPECT_FALSE(coordinator_.polls.back().eligible());
  EXPECT_THAT(coordinator_.polls.back().ineligible_reason(), ::testing::HasSubstr("privacy budget"));
}

TEST_F(DeviceTest, EnforcesTheFederationsBudgetWhenLowerThanItsOwn) {
  const std::string path = ::testing::TempDir() + "/device_federation_budget_test";
  std::filesystem::remove(path);
  auto ledger = PrivacyLedger::Open(path, {.epsilon = 100, .delta = 1e-5});
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  trainer_.privacy = SgmEvent{.sample_rate = 0.01, .noise_multiplier = 1.0, .steps = 1000};  // epsilon 2.10 a task
  options_.privacy_ledger = ledger->get();
  for (uint64_t round : {1, 2}) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_dp_epsilon_budget(2.5);  // [dp] device_epsilon of the federation
    coordinator_.tasks.push_back(task);
  }
  auto device = MakeDevice();
  auto first = device->RunOnce();
  ASSERT_TRUE(first.ok() && first->task_status.ok()) << first.status();
  auto second = device->RunOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(second->task_status)) << second->task_status;
  EXPECT_THAT(std::string(second->task_status.message()), ::testing::HasSubstr("lifetime budget of 2.5"));
  EXPECT_EQ(coordinator_.accepted, 1);
}

TEST_F(DeviceTest, RefusesABudgetedDpTaskWithoutALedger) {
  trainer_.privacy = SgmEvent{.sample_rate = 0.01, .noise_multiplier = 1.0, .steps = 1000};
  proto::Task task = coordinator_.MakeTask(1);
  task.mutable_train()->set_dp_epsilon_budget(4);
  coordinator_.tasks.push_back(task);
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(step->task_status)) << step->task_status;
  EXPECT_THAT(std::string(step->task_status.message()), ::testing::HasSubstr("no privacy ledger"));
  EXPECT_EQ(coordinator_.accepted, 0);
  EXPECT_TRUE(trainer_.seeds.empty()) << "refused before training";
}

TEST_F(DeviceTest, TrainingInterruptedBetweenBatchesUploadsAndChargesNothing) {
  const std::string path = ::testing::TempDir() + "/device_interrupted_ledger_test";
  std::filesystem::remove(path);
  auto ledger = PrivacyLedger::Open(path, {.epsilon = 10, .delta = 1e-5});
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  options_.privacy_ledger = ledger->get();
  trainer_.privacy = SgmEvent{.sample_rate = 0.01, .noise_multiplier = 1.0, .steps = 1000};
  trainer_.fail_with = absl::AbortedError("training interrupted: battery at 12%, below 20%");
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(absl::IsAborted(step->task_status)) << step->task_status;
  EXPECT_TRUE(coordinator_.upload_offsets.empty()) << "nothing uploaded";
  EXPECT_EQ(coordinator_.accepted, 0);
  EXPECT_EQ((*ledger)->Epsilon(), 0) << "nothing charged";
  EXPECT_EQ(coordinator_.reports.back().metrics().at("training_interrupted"), 1);
}

TEST_F(DeviceTest, WaitsTheMinimumSeparationBetweenParticipations) {
  options_.min_participation_interval = absl::Minutes(10);
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.accepted, 1);
  clock_.Advance(absl::Minutes(4));
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_FALSE(coordinator_.polls.back().eligible());
  EXPECT_THAT(coordinator_.polls.back().ineligible_reason(), ::testing::HasSubstr("minimum separation 10m"));
  clock_.Advance(absl::Minutes(7));
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_TRUE(coordinator_.polls.back().eligible());
}

TEST_F(DeviceTest, ReportsCarryTheServicesMetrics) {
  options_.service_metrics = [] { return std::map<std::string, double>{{"inference_requests", 7}}; };
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_FALSE(coordinator_.reports.empty());
  EXPECT_EQ(coordinator_.reports.back().metrics().at("inference_requests"), 7);
  EXPECT_TRUE(coordinator_.reports.back().metrics().contains("model_bytes")) << "the task's own metrics stay";
}

TEST_F(DeviceTest, SendsItsEligibilityWithEveryPoll) {
  options_.eligibility = [] { return Eligibility{false, "battery low"}; };
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_EQ(coordinator_.polls.size(), 1u);
  EXPECT_FALSE(coordinator_.polls[0].eligible());
  EXPECT_EQ(coordinator_.polls[0].ineligible_reason(), "battery low");
}

TEST_F(DeviceTest, RunStopsAfterIdlePollsWaitingAsTold) {
  coordinator_.tasks = {coordinator_.MakeTask(1), coordinator_.MakeTask(2)};
  auto device = MakeDevice();
  const absl::Time start = clock_.Now();
  ASSERT_TRUE(device->Run({.max_idle_polls = 3}).ok());
  EXPECT_EQ(device->counters().tasks_done, 2u);
  EXPECT_EQ(coordinator_.polls.size(), 5u);
  // Two waits of retry_after between the three idle polls; the last one stops.
  EXPECT_EQ(clock_.Now() - start, absl::Seconds(2));
  EXPECT_THAT(trainer_.seeds, ElementsAre(DeriveSeed(42, 1), DeriveSeed(42, 2)));
}

TEST_F(DeviceTest, RunStopsAtMaxTasksAndWhenTheFederationIsFinished) {
  coordinator_.tasks = {coordinator_.MakeTask(1), coordinator_.MakeTask(2)};
  auto device = MakeDevice();
  ASSERT_TRUE(device->Run({.max_tasks = 1}).ok());
  EXPECT_EQ(device->counters().tasks_done, 1u);

  coordinator_.poll_failures[coordinator_.polls.size() + 2] = absl::FailedPreconditionError("federation finished");
  ASSERT_TRUE(device->Run({}).ok());
  EXPECT_EQ(device->counters().tasks_done, 2u);
}

TEST_F(DeviceTest, RunEndsAtOnceWhenTheCoordinatorRefusesTheDevice) {
  coordinator_.poll_failures[1] = absl::PermissionDeniedError("device \"d\" is revoked");
  auto device = MakeDevice();
  const absl::Status status = device->Run({.max_consecutive_failures = 5});
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_EQ(coordinator_.polls.size(), 1u);
}

TEST_F(DeviceTest, RunReturnsTheErrorAfterRepeatedFailures) {
  for (int round = 1; round <= 3; ++round) coordinator_.tasks.push_back(coordinator_.MakeTask(round));
  coordinator_.model()[coordinator_.model().size() / 2] ^= 0x01;
  auto device = MakeDevice();
  EXPECT_EQ(device->Run({.max_consecutive_failures = 3}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(device->counters().tasks_failed, 3u);
}

TEST_F(DeviceTest, ReregistersWhenTheCoordinatorForgetsTheDevice) {
  coordinator_.poll_failures[1] = absl::NotFoundError("unknown device");
  auto device = MakeDevice();
  EXPECT_EQ(device->RunOnce().status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(coordinator_.registrations.size(), 2u);
}

// The whole path with a real zoo model: what the device uploads, added to
// the global model, fits the device's data better.
TEST(DeviceWithTorchTrainerTest, TheUploadedDeltaImprovesTheGlobalModel) {
  const ImageDataset data = testing::BrightnessDataset(32);
  std::vector<int64_t> all(32);
  for (int64_t i = 0; i < 32; ++i) all[i] = i;
  auto trainer = TorchTrainer::Create({.architecture = "cnn_student"}, data, all);
  auto evaluator = TorchEvaluator::Create("cnn_student", data);
  ASSERT_TRUE(trainer.ok() && evaluator.ok());
  ModelParams global{(*trainer)->layout(), std::vector<float>((*trainer)->layout().num_elements())};
  for (size_t i = 0; i < global.values.size(); ++i) global.values[i] = 0.05f * std::cos(0.71f * i);

  FakeClock clock;
  SigningKey key = *SigningKey::Generate();
  FakeCoordinator coordinator(&clock, key, global, "cnn_student");
  proto::Task task = coordinator.MakeTask(1);
  task.mutable_train()->set_local_epochs(3);
  task.mutable_train()->set_batch_size(8);
  coordinator.tasks.push_back(task);
  DeviceOptions options;
  options.device_id = "d";
  options.download_chunk_bytes = options.upload_chunk_bytes = 4096;
  auto device = Device::Create(options, &coordinator, &clock, trainer->get(), key.verify_key());
  ASSERT_TRUE(device.ok());
  auto step = (*device)->RunOnce();
  ASSERT_TRUE(step.ok() && step->task_status.ok()) << (step.ok() ? step->task_status : step.status());
  ASSERT_EQ(coordinator.accepted, 1);
  EXPECT_EQ(coordinator.update.num_examples(), 32u);

  ModelParams updated = global;
  const std::vector<float> delta = Decode(coordinator.update);
  ASSERT_EQ(delta.size(), updated.values.size());
  for (size_t i = 0; i < delta.size(); ++i) updated.values[i] += delta[i];
  auto before = (*evaluator)->Evaluate(global);
  auto after = (*evaluator)->Evaluate(updated);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(after->at("test_loss"), before->at("test_loss"));
  EXPECT_NEAR(after->at("test_accuracy"), coordinator.update.metrics().at("local_accuracy"), 1e-9);
}

TEST(DeviceOptionsTest, RejectsBadOptions) {
  DeviceOptions options;
  EXPECT_EQ(ValidateDeviceOptions(options).code(), absl::StatusCode::kInvalidArgument);
  options.device_id = "d";
  EXPECT_TRUE(ValidateDeviceOptions(options).ok());
  options.retry.jitter = 1.0;
  EXPECT_EQ(ValidateDeviceOptions(options).code(), absl::StatusCode::kInvalidArgument);
}

TEST(BackoffDelayTest, IsCappedAndSpansTheJitterRange) {
  RetryPolicy p{.initial_backoff = absl::Seconds(1), .max_backoff = absl::Seconds(5), .multiplier = 2, .jitter = 0.5};
  EXPECT_EQ(BackoffDelay(p, 0, 0.0), absl::Milliseconds(500));
  EXPECT_EQ(BackoffDelay(p, 1, 0.5), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(p, 2, 0.0), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(p, 2, 0.999), absl::Seconds(5));
  EXPECT_EQ(BackoffDelay(p, 500, 0.5), absl::Seconds(5));
}

}  // namespace
}  // namespace fedge
