// The device's store and forward (DeviceOptions::outbox_max_records,
// client/outbox.h) and its refusal of DP tasks when its ledger cannot be
// trusted.
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/device.h"
#include "client/testing/device_fakes.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class DeviceOutboxTest : public ::testing::Test {
 protected:
  DeviceOutboxTest() : key_(*SigningKey::Generate()), coordinator_(&clock_, key_) {
    state_dir_ = absl::StrCat(::testing::TempDir(), "/device_outbox_test_",
                              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(state_dir_);
    options_.device_id = "phone-1";
    options_.seed = 42;
    options_.retry.initial_backoff = absl::Milliseconds(100);
    options_.retry.max_attempts = 2;
    options_.state_dir = state_dir_;
    options_.state_key = *SealingKey::Generate();
    options_.outbox_max_records = 4;
  }

  std::unique_ptr<Device> MakeDevice() {
    auto device = Device::Create(options_, &coordinator_, &clock_, &trainer_, key_.verify_key());
    EXPECT_TRUE(device.ok()) << device.status();
    return *std::move(device);
  }
  size_t OutboxFiles() const {
    const std::string dir = state_dir_ + "/outbox";
    if (!std::filesystem::exists(dir)) return 0;
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
  }
  proto::Task TaskWithCodec(uint64_t round, const std::string& codec) {
    proto::Task task = coordinator_.MakeTask(round);
    task.mutable_train()->set_codec(codec);
    return task;
  }

  std::string state_dir_;
  FakeClock clock_;
  SigningKey key_;
  FakeCoordinator coordinator_;
  FakeTrainer trainer_;
  DeviceOptions options_;
};

TEST_F(DeviceOutboxTest, KeepsAnUpdateThroughAnOutageAndARestartThenDeliversItOnce) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  coordinator_.uploads_fail = true;  // the coordinator goes away during training
  {
    auto device = MakeDevice();
    auto step = device->RunOnce();
    ASSERT_TRUE(step.ok()) << step.status();
    EXPECT_TRUE(absl::IsUnavailable(step->task_status));
    EXPECT_THAT(step->task_status.message(), HasSubstr("kept in the outbox"));
    EXPECT_EQ(device->counters().outbox_kept, 1u);
    EXPECT_EQ(device->counters().bytes_up, 0u);  // no attempt reached the coordinator
    EXPECT_EQ(OutboxFiles(), 1u);
    coordinator_.link_down = true;  // still away: the kept update stays
    EXPECT_TRUE(absl::IsUnavailable(device->RunOnce().status()));
    EXPECT_EQ(OutboxFiles(), 1u);
  }
  coordinator_.link_down = coordinator_.uploads_fail = false;
  auto restarted = MakeDevice();
  auto step = restarted->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_FALSE(step->had_task);
  EXPECT_EQ(coordinator_.accepted, 1);
  EXPECT_EQ(coordinator_.update.task_id(), "task-3");
  EXPECT_EQ(coordinator_.update.round(), 3u);
  for (float v : Decode(coordinator_.update)) EXPECT_NEAR(v, 0.5f, 1e-6);
  EXPECT_EQ(restarted->counters().outbox_delivered, 1u);
  EXPECT_EQ(restarted->counters().tasks_done, 1u);
  EXPECT_EQ(restarted->counters().bytes_up, coordinator_.update.ByteSizeLong());
  EXPECT_EQ(OutboxFiles(), 0u);
  ASSERT_TRUE(restarted->RunOnce().ok());
  EXPECT_EQ(coordinator_.accepted, 1);  // sent once
}

TEST_F(DeviceOutboxTest, ATaskWhoseUpdateIsKeptIsDeliveredNotTrainedAgain) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  coordinator_.uploads_fail = true;
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());  // upload calls 1-2 fail: kept
  coordinator_.uploads_fail = false;
  // The link is back for the poll but not yet for the delivery before it,
  // and the coordinator hands out the same task again.
  coordinator_.upload_failures = {{3, absl::UnavailableError("flaky")}, {4, absl::UnavailableError("flaky")}};
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;
  EXPECT_EQ(trainer_.seeds.size(), 1u);  // trained once
  EXPECT_EQ(coordinator_.accepted, 1);
  EXPECT_EQ(device->counters().outbox_delivered, 1u);
  EXPECT_EQ(OutboxFiles(), 0u);
}

// The delivery before the poll fails on the oldest record, so the altered
// one is first read when the poll hands out its task again: it is discarded
// (and counted) there, and the task trained again.
TEST_F(DeviceOutboxTest, AnAlteredRecordMetWhenItsTaskReturnsIsCountedAndTrainedAgain) {
  coordinator_.tasks = {coordinator_.MakeTask(3), coordinator_.MakeTask(4)};
  coordinator_.uploads_fail = true;
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());  // task-3 kept
  ASSERT_TRUE(device->RunOnce().ok());  // task-3 not delivered, task-4 kept
  ASSERT_EQ(device->counters().outbox_kept, 2u);
  const std::string path = state_dir_ + "/outbox/2.outbox";  // task-4's
  std::string bytes = *ReadFile(path);
  bytes[bytes.size() - 20] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());

  coordinator_.uploads_fail = false;
  const size_t calls = coordinator_.upload_offsets.size();
  coordinator_.upload_failures = {{calls + 1, absl::UnavailableError("flaky")},
                                  {calls + 2, absl::UnavailableError("flaky")}};  // task-3's delivery
  coordinator_.tasks.push_back(coordinator_.MakeTask(4));
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;
  EXPECT_EQ(device->counters().outbox_discarded, 1u);
  EXPECT_EQ(trainer_.seeds.size(), 3u);  // task-4 trained again
  EXPECT_EQ(coordinator_.accepted, 1);
  EXPECT_EQ(coordinator_.update.task_id(), "task-4");
  EXPECT_EQ(OutboxFiles(), 1u);  // task-3 still waits
}

TEST_F(DeviceOutboxTest, AKeptUpdateTheCoordinatorRefusesReturnsItsMassToTheResidual) {
  // topk:1 sends every value, so the residual is zero after each encode and
  // the next update shows exactly what was returned to it.
  coordinator_.tasks.push_back(TaskWithCodec(3, "topk:1"));
  coordinator_.uploads_fail = true;
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(device->counters().outbox_kept, 1u);

  coordinator_.uploads_fail = false;
  coordinator_.refused_tasks.insert("task-3");  // its round closed meanwhile
  coordinator_.tasks.push_back(TaskWithCodec(4, "topk:1"));
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_TRUE(step->task_status.ok()) << step->task_status;
  EXPECT_EQ(device->counters().outbox_refused, 1u);
  EXPECT_EQ(coordinator_.accepted, 1);
  EXPECT_EQ(coordinator_.update.task_id(), "task-4");
  for (float v : Decode(coordinator_.update)) EXPECT_NEAR(v, 1.0f, 1e-6);  // round 3's 0.5 + round 4's 0.5
  EXPECT_EQ(OutboxFiles(), 0u);
}

TEST_F(DeviceOutboxTest, EvictsTheOldestBeyondItsBoundReturningItsMass) {
  options_.outbox_max_records = 1;
  coordinator_.uploads_fail = true;  // polls and downloads get through, uploads do not
  coordinator_.tasks = {TaskWithCodec(3, "topk:1"), TaskWithCodec(4, "topk:1")};
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(device->counters().outbox_kept, 2u);
  EXPECT_EQ(device->counters().outbox_evicted, 1u);
  EXPECT_EQ(OutboxFiles(), 1u);
  coordinator_.uploads_fail = false;
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_EQ(coordinator_.update.task_id(), "task-4");
  // Round 3 was evicted after round 4 was encoded: its mass waits for the next update.
  for (float v : Decode(coordinator_.update)) EXPECT_NEAR(v, 0.5f, 1e-6);
  coordinator_.tasks.push_back(TaskWithCodec(5, "topk:1"));
  ASSERT_TRUE(device->RunOnce().ok());
  for (float v : Decode(coordinator_.update)) EXPECT_NEAR(v, 1.0f, 1e-6);  // round 5 + evicted round 3
}

TEST_F(DeviceOutboxTest, WithoutAnOutboxAnUndeliveredUpdateIsDropped) {
  options_.outbox_max_records = 0;
  coordinator_.uploads_fail = true;
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(absl::IsUnavailable(step->task_status));
  EXPECT_EQ(OutboxFiles(), 0u);
  EXPECT_EQ(device->counters().outbox_kept, 0u);
}

TEST_F(DeviceOutboxTest, RunWaitsOutAnOutageOnlyWithAnOutbox) {
  coordinator_.link_down = true;
  int steps = 0;
  auto device = MakeDevice();
  EXPECT_TRUE(device->Run({.max_consecutive_failures = 2, .stop = [&] { return ++steps > 10; }}).ok());
  EXPECT_EQ(steps, 11);
  options_.outbox_max_records = 0;
  auto without = MakeDevice();
  EXPECT_TRUE(absl::IsUnavailable(without->Run({.max_consecutive_failures = 2})));
}

// A line a step would be one a second in an outage: the backlog is logged
// when the outage begins, when it changes, then once a minute.
TEST_F(DeviceOutboxTest, AnOutageIsLoggedWhenItBeginsAndChangesThenOnceAMinute) {
  coordinator_.tasks.push_back(coordinator_.MakeTask(3));
  coordinator_.uploads_fail = true;
  auto device = MakeDevice();
  ASSERT_TRUE(device->RunOnce().ok());  // kept
  coordinator_.link_down = true;
  const auto notices = [](const std::string& log) {
    int n = 0;
    for (size_t at = log.find("kept updates not sent yet"); at != std::string::npos;
         at = log.find("kept updates not sent yet", at + 1)) {
      ++n;
    }
    return n;
  };
  const absl::Time began = clock_.Now();
  ::testing::internal::CaptureStderr();
  int steps = 0;
  while (clock_.Now() - began < absl::Seconds(50)) {  // each step sleeps its retries on the clock
    EXPECT_TRUE(absl::IsUnavailable(device->RunOnce().status()));
    clock_.SleepFor(absl::Seconds(1));  // Run's wait between failed steps
    ++steps;
  }
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_GT(steps, 40);
  EXPECT_EQ(notices(log), 1) << log;
  EXPECT_THAT(log, HasSubstr("phone-1: 1 kept updates not sent yet"));

  ::testing::internal::CaptureStderr();
  clock_.SleepFor(absl::Seconds(11));  // a minute after the first notice
  EXPECT_FALSE(device->RunOnce().ok());
  EXPECT_FALSE(device->RunOnce().ok());
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(notices(log), 1) << log;
  EXPECT_THAT(log, HasSubstr("failed attempts not logged since the last notice"));

  // Back: the kept update goes, and the device says the outage is over.
  coordinator_.link_down = coordinator_.uploads_fail = false;
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(device->RunOnce().ok());
  log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(notices(log), 0) << log;
  EXPECT_THAT(log, HasSubstr("no kept updates waiting any more"));
  EXPECT_EQ(coordinator_.accepted, 1);
}

TEST_F(DeviceOutboxTest, AnUntrustedLedgerRefusesDpTasksAndSaysWhyAtEveryPoll) {
  options_.privacy_ledger_refusal = "privacy ledger not trusted: altered";
  trainer_.privacy = SgmEvent{.sample_rate = 0.01, .noise_multiplier = 1.0, .steps = 10};
  coordinator_.tasks.push_back(coordinator_.MakeTask(1));
  auto device = MakeDevice();
  auto step = device->RunOnce();
  ASSERT_TRUE(step.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(step->task_status));
  EXPECT_TRUE(trainer_.seeds.empty());  // nothing trained
  EXPECT_EQ(coordinator_.accepted, 0);
  ASSERT_TRUE(device->RunOnce().ok());
  EXPECT_FALSE(coordinator_.polls.back().eligible());
  EXPECT_THAT(coordinator_.polls.back().ineligible_reason(), HasSubstr("not trusted"));
}

}  // namespace
}  // namespace fedge
