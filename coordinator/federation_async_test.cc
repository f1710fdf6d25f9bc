// The Federation in asynchronous mode (FedBuff): tasks without rounds,
// a server step every K accepted updates, staleness weighting and its
// bound, idempotent re-sends, and a durable buffer that survives a restart.
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "aggregation/fedavg.h"
#include "coordinator/federation.h"
#include "coordinator/store/sqlite_state_store.h"
#include "coordinator/testing/federation_fixtures.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using fedge::testing::TinyModel;

FederationOptions BufferedOptions(int64_t buffer_size, double exponent = 0, int64_t max_staleness = 10) {
  FederationOptions o;
  o.async.enabled = true;
  o.async.buffer_size = buffer_size;
  o.async.staleness = {.exponent = exponent, .max_staleness = max_staleness};
  o.async.max_concurrent = 0;
  return o;
}

class AsyncFederationTest : public ::testing::Test {
 protected:
  void Start(FederationOptions options, int num_devices, StateStore* store = nullptr) {
    federation_.reset();
    options.min_devices = num_devices;
    options.store = store;
    auto f = Federation::Create(options, std::make_unique<FedAvg>(), TinyModel(), key_, &clock_, nullptr);
    ASSERT_TRUE(f.ok()) << f.status();
    federation_ = *std::move(f);
    for (int i = 0; i < num_devices; ++i) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(absl::StrCat("d", i));
      ASSERT_TRUE(federation_->Register(r).ok());
    }
    EXPECT_TRUE(federation_->Tick().empty());  // opens buffer 1
  }

  absl::StatusOr<proto::PollTaskResponse> Poll(const std::string& device) {
    proto::PollTaskRequest r;
    r.set_device_id(device);
    r.set_eligible(true);
    return federation_->PollTask(r);
  }

  proto::Task TaskFor(const std::string& device) {
    auto poll = Poll(device);
    EXPECT_TRUE(poll.ok() && poll->has_task()) << device << " got no task";
    return poll.ok() ? poll->task() : proto::Task();
  }

  absl::StatusOr<proto::UploadResponse> Send(const std::string& device, const proto::Task& task,
                                             const std::vector<float>& delta, uint64_t examples = 1) {
    const std::string bytes = fedge::testing::Fp32Update(task, delta, examples).SerializeAsString();
    proto::UploadRequest r;
    r.set_device_id(device);
    r.set_task_id(task.task_id());
    r.set_data(bytes);
    r.set_total_size(bytes.size());
    r.set_final(true);
    return federation_->Upload(r);
  }

  absl::StatusOr<proto::UploadResponse> Upload(const std::string& device, const std::vector<float>& delta) {
    return Send(device, TaskFor(device), delta);
  }

  SigningKey key_ = *SigningKey::Generate();
  FakeClock clock_;
  std::unique_ptr<Federation> federation_;
};

TEST_F(AsyncFederationTest, EveryDeviceGetsATaskAndKUpdatesTakeOneStep) {
  Start(BufferedOptions(2), 3);
  for (const char* d : {"d0", "d1", "d2"}) {
    const proto::Task task = TaskFor(d);
    EXPECT_EQ(task.model_version(), 1u);
    EXPECT_EQ(task.deadline_unix_micros(), 0);  // bounded by staleness, not time
  }
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  EXPECT_EQ(federation_->model_version(), 1u);
  ASSERT_TRUE(Upload("d1", {3, 3, 3, 3}).ok());
  EXPECT_EQ(federation_->model_version(), 2u);  // stepped at once, no tick needed
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].succeeded());
  EXPECT_EQ(records[0].accepted(), 2u);
  EXPECT_EQ(records[0].model_version(), 2u);
  EXPECT_EQ(records[0].metrics().at("staleness_max"), 0);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(2), FloatEq(2), FloatEq(2), FloatEq(2)));
  // d2's task was issued on version 1 and is still open in the next buffer.
  const proto::Task carried = TaskFor("d2");
  EXPECT_EQ(carried.model_version(), 1u);
}

TEST_F(AsyncFederationTest, AStaleUpdateIsWeightedByThePolynomial) {
  Start(BufferedOptions(1, /*exponent=*/1.0), 2);
  const proto::Task stale = TaskFor("d0");
  ASSERT_TRUE(Upload("d1", {2, 2, 2, 2}).ok());  // step: version 2, weights 2
  ASSERT_EQ(federation_->model_version(), 2u);
  // Staleness 1, weight (1 + 1)^-1 = 0.5.
  ASSERT_TRUE(Send("d0", stale, {4, 4, 4, 4}).ok());
  EXPECT_EQ(federation_->model_version(), 3u);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(4), FloatEq(4), FloatEq(4), FloatEq(4)));
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].metrics().at("staleness_mean"), 1);
}

TEST_F(AsyncFederationTest, AnUpdateBeyondTheBoundIsRefusedAndNeverFolded) {
  Start(BufferedOptions(1, 0.5, /*max_staleness=*/1), 2);
  const proto::Task stale = TaskFor("d0");
  ASSERT_TRUE(Upload("d1", {1, 1, 1, 1}).ok());  // version 2
  ASSERT_TRUE(Upload("d1", {1, 1, 1, 1}).ok());  // its next task: version 3
  ASSERT_EQ(federation_->model_version(), 3u);
  const std::vector<float> before = federation_->global_model().values;
  absl::StatusOr<proto::UploadResponse> refused = Send("d0", stale, {100, 100, 100, 100});
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("too stale"));
  EXPECT_THAT(refused.status().message(), HasSubstr("2 server steps behind"));
  EXPECT_THAT(refused.status().message(), HasSubstr("more than 1 steps stale ([async] max_staleness)"));
  EXPECT_EQ(federation_->model_version(), 3u);
  EXPECT_EQ(federation_->global_model().values, before);
  // Sent again: the same answer, still not folded.
  EXPECT_EQ(Send("d0", stale, {100, 100, 100, 100}).status().code(), absl::StatusCode::kFailedPrecondition);
  // The device polls and trains on the current version instead.
  EXPECT_EQ(TaskFor("d0").model_version(), 3u);
  ASSERT_TRUE(Upload("d0", {0, 0, 0, 0}).ok());
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].rejections().at("stale"), 1u);
  EXPECT_EQ(records[2].accepted(), 1u);
}

TEST_F(AsyncFederationTest, AReSentUpdateIsAcknowledgedAgainAndCountedOnce) {
  Start(BufferedOptions(2), 3);
  const proto::Task task = TaskFor("d0");
  ASSERT_TRUE(Send("d0", task, {1, 1, 1, 1}).ok());
  absl::StatusOr<proto::UploadResponse> again = Send("d0", task, {1, 1, 1, 1});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->accepted());
  ASSERT_TRUE(Upload("d1", {3, 3, 3, 3}).ok());  // step
  // After the step: answered from the closed buffer's replies.
  again = Send("d0", task, {1, 1, 1, 1});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->accepted());
  ASSERT_TRUE(Upload("d2", {0, 0, 0, 0}).ok());
  ASSERT_TRUE(Upload("d1", {0, 0, 0, 0}).ok());  // second step
  // Two steps later the task is long final: refused, never counted.
  EXPECT_EQ(Send("d0", task, {1, 1, 1, 1}).status().code(), absl::StatusCode::kFailedPrecondition);
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].accepted(), 2u);
  EXPECT_EQ(records[1].accepted(), 2u);
  EXPECT_EQ(federation_->model_version(), 3u);
}

TEST_F(AsyncFederationTest, ADeviceContributesOnceToEachStep) {
  Start(BufferedOptions(2), 2);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  absl::StatusOr<proto::PollTaskResponse> poll = Poll("d0");
  ASSERT_TRUE(poll.ok());
  EXPECT_FALSE(poll->has_task());
  EXPECT_GT(poll->retry_after_millis(), 0);
  ASSERT_TRUE(Upload("d1", {1, 1, 1, 1}).ok());  // step
  EXPECT_EQ(TaskFor("d0").model_version(), 2u);
}

TEST_F(AsyncFederationTest, MaxConcurrentBoundsTheTasksInTraining) {
  FederationOptions o = BufferedOptions(2);
  o.async.max_concurrent = 2;
  Start(o, 3);
  TaskFor("d0");
  TaskFor("d1");
  absl::StatusOr<proto::PollTaskResponse> poll = Poll("d2");
  ASSERT_TRUE(poll.ok());
  EXPECT_FALSE(poll->has_task());
  EXPECT_EQ(TaskFor("d0").task_id(), TaskFor("d0").task_id());  // the same task again
}

TEST_F(AsyncFederationTest, AStaleTaskCanStillDownloadItsBaseVersion) {
  Start(BufferedOptions(1), 2);
  const proto::Task task = TaskFor("d0");
  ASSERT_TRUE(Upload("d1", {1, 1, 1, 1}).ok());
  ASSERT_EQ(federation_->model_version(), 2u);
  proto::DownloadRequest r;
  r.set_device_id("d0");
  r.set_model_version(task.model_version());
  absl::StatusOr<proto::DownloadResponse> chunk = federation_->Download(r);
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_GT(chunk->total_size(), 0u);
  // Polling again gives the same task, sized as its base version's artifact.
  const proto::Task again = TaskFor("d0");
  EXPECT_EQ(again.task_id(), task.task_id());
  EXPECT_EQ(again.model_size_bytes(), chunk->total_size());
}

TEST_F(AsyncFederationTest, ValidationNamesTheBadAsyncField) {
  FederationOptions o = BufferedOptions(4);
  o.async.max_concurrent = 2;
  absl::Status bad = ValidateFederationOptions(o);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("max_concurrent"));
  o = BufferedOptions(4, -1);
  EXPECT_THAT(ValidateFederationOptions(o).message(), HasSubstr("staleness_exponent"));
}

TEST_F(AsyncFederationTest, AcknowledgedUpdatesOfTheBufferSurviveARestart) {
  const std::string dir = (fs::path(::testing::TempDir()) / "federation_async_store").string();
  fs::remove_all(dir);
  auto open_store = [&] { return *SqliteStateStore::Open({.dir = dir}); };
  std::unique_ptr<SqliteStateStore> store = open_store();
  Start(BufferedOptions(2), 3, store.get());
  const proto::Task first = TaskFor("d0");
  ASSERT_TRUE(Send("d0", first, {2, 2, 2, 2}).ok());
  const proto::Task pending = TaskFor("d1");  // in training when the coordinator stops
  // Crash and restart: the acknowledged update is in the buffer again.
  federation_.reset();
  store.reset();
  store = open_store();
  FederationOptions o = BufferedOptions(2);
  o.min_devices = 3;
  o.store = store.get();
  auto f = Federation::Create(o, std::make_unique<FedAvg>(), TinyModel(), key_, &clock_, nullptr);
  ASSERT_TRUE(f.ok()) << f.status();
  federation_ = *std::move(f);
  // Re-sent after the restart: acknowledged again, not counted twice.
  absl::StatusOr<proto::UploadResponse> again = Send("d0", first, {2, 2, 2, 2});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->accepted());
  EXPECT_EQ(federation_->model_version(), 1u);
  // The task issued before the restart is still taken.
  ASSERT_TRUE(Send("d1", pending, {4, 4, 4, 4}).ok());
  EXPECT_EQ(federation_->model_version(), 2u);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(3), FloatEq(3), FloatEq(3), FloatEq(3)));
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 2u);
}

}  // namespace
}  // namespace fedge

namespace fedge {
namespace {

// Client-level DP per server step: K clipped updates summed, noised and
// divided by K; a stale update is scaled by its weight and still clipped to
// S, so no contribution exceeds the clip bound.
TEST_F(AsyncFederationTest, ClientLevelDpAppliesToEachServerStep) {
  DeterministicRandom noise(5);
  FederationOptions o = BufferedOptions(2, /*exponent=*/1.0);
  o.max_rounds = 2;
  o.client_dp = ClientDpOptions{.clip_norm = 1, .noise_multiplier = 0.01, .device_sampling_rate = 2.0 / 3};
  o.dp_random = &noise;
  Start(o, 3);
  const proto::Task stale = TaskFor("d2");
  ASSERT_TRUE(Upload("d0", {10, 0, 0, 0}).ok());
  ASSERT_TRUE(Upload("d1", {0, 0, 0, -3}).ok());  // step 1
  std::vector<float> global = federation_->global_model().values;
  EXPECT_NEAR(global[0], 0.5, 0.03);
  EXPECT_NEAR(global[3], -0.5, 0.03);
  ASSERT_TRUE(Send("d2", stale, {0, 4, 0, 0}).ok());  // staleness 1: 0.5 * 4 = 2, clipped to 1
  ASSERT_TRUE(Upload("d0", {0, 0, 1, 0}).ok());       // step 2
  global = federation_->global_model().values;
  EXPECT_NEAR(global[1], 0.5, 0.03);
  EXPECT_NEAR(global[2], 0.5, 0.03);
  const std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_GT(records[1].metrics().at("client_epsilon"), records[0].metrics().at("client_epsilon"));
}

}  // namespace
}  // namespace fedge
