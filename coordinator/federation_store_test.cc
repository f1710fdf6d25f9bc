// The Federation over a SqliteStateStore: what is acknowledged survives a
// restart, is counted exactly once, and a store that cannot write refuses
// to acknowledge.
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "aggregation/coordinate_median.h"
#include "aggregation/fedavg.h"
#include "coordinator/federation.h"
#include "coordinator/store/sqlite_state_store.h"
#include "coordinator/testing/federation_fixtures.h"
#include "core/artifact.h"
#include "core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

using fedge::testing::SumEvaluator;
using fedge::testing::TinyModel;

// Forwards to a real store, failing chosen calls on demand.
class FaultyStore final : public StateStore {
 public:
  explicit FaultyStore(StateStore* base) : base_(base) {}
  absl::Status fail_append = absl::OkStatus();
  absl::Status fail_close = absl::OkStatus();
  absl::Status fail_complete = absl::OkStatus();

  absl::StatusOr<std::optional<RunConfig>> ReadRunConfig() override { return base_->ReadRunConfig(); }
  absl::Status StartRun(const RunConfig& c) override { return base_->StartRun(c); }
  absl::StatusOr<StoredState> Load() override { return base_->Load(); }
  absl::Status SaveInitialModel(const StoredModel& m) override { return base_->SaveInitialModel(m); }
  absl::Status SaveDevices(const std::vector<StoredDevice>& d) override { return base_->SaveDevices(d); }
  absl::Status OpenRound(const StoredOpenRound& r, const RunCounters& c) override { return base_->OpenRound(r, c); }
  absl::Status AppendUpdates(const AckBatch& b) override {
    return fail_append.ok() ? base_->AppendUpdates(b) : fail_append;
  }
  absl::Status CloseRound(const RoundClosure& c) override {
    return fail_close.ok() ? base_->CloseRound(c) : fail_close;
  }
  absl::Status CompleteRound(const proto::RoundRecord& r, const RunCounters& c) override {
    return fail_complete.ok() ? base_->CompleteRound(r, c) : fail_complete;
  }
  absl::Status SaveDeployment(const StoredDeployment& d) override { return base_->SaveDeployment(d); }
  absl::StatusOr<std::optional<StoredDeployment>> LoadDeployment(uint64_t v) override {
    return base_->LoadDeployment(v);
  }
  absl::Status SaveRollout(const std::string& r) override { return base_->SaveRollout(r); }

 private:
  StateStore* base_;
};

// Signs a real INT8 graph with the requested version, counting its calls.
struct CountingDeployer final : public ModelDeployer {
  explicit CountingDeployer(const SigningKey& k) : key(k) {}
  absl::StatusOr<Deployment> Deploy(const ModelParams&, uint64_t parent_version, uint64_t version) override {
    versions.push_back(version);
    proto::ArtifactBody body = *testing::BuildCalibrated(testing::StudentCnn(1), 4, 1);
    body.mutable_header()->set_model_id("fedge");
    body.mutable_header()->set_version(version);
    body.mutable_header()->set_parent_version(parent_version);
    body.mutable_header()->set_dtype(proto::DTYPE_INT8);
    return Deployment{.artifact = *SignArtifact(body, key), .metrics = {}};
  }
  SigningKey key;
  std::vector<uint64_t> versions;
};

class FederationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::path(::testing::TempDir()) /
            absl::StrCat("federation_store_", ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    key_ = *SigningKey::Generate();
    options_.devices_per_round = 3;
    options_.min_devices = 3;
    options_.over_selection = 1.0;
    options_.round_deadline = absl::Minutes(5);
    options_.resume_grace = absl::Minutes(1);
  }

  // Opens the store and a Federation over it (resuming what it holds).
  absl::Status Start(ModelEvaluator* evaluator = nullptr) {
    federation_.reset();
    faulty_.reset();
    store_.reset();
    absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir_});
    if (!store.ok()) return store.status();
    store_ = *std::move(store);
    faulty_ = std::make_unique<FaultyStore>(store_.get());
    FederationOptions options = options_;
    options.store = faulty_.get();
    absl::StatusOr<std::unique_ptr<Federation>> f =
        Federation::Create(options, strategy_(), TinyModel(), key_, &clock_, evaluator);
    if (!f.ok()) return f.status();
    federation_ = *std::move(f);
    return absl::OkStatus();
  }

  // A crash: the process state is gone, only the store's files remain.
  void Crash() {
    federation_.reset();
    faulty_.reset();
    store_.reset();
  }

  void RegisterAll(int n = 3) {
    for (int i = 0; i < n; ++i) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(absl::StrCat("d", i));
      ASSERT_TRUE(federation_->Register(r).ok());
    }
  }

  proto::Task TaskFor(const std::string& device) {
    proto::PollTaskRequest r;
    r.set_device_id(device);
    r.set_eligible(true);
    auto poll = federation_->PollTask(r);
    EXPECT_TRUE(poll.ok() && poll->has_task()) << device << " got no task";
    return poll.ok() ? poll->task() : proto::Task();
  }

  static std::string Encode(const proto::Task& task, const std::vector<float>& delta, uint64_t examples = 1) {
    proto::EncodedUpdate u = fedge::testing::Fp32Update(task, delta, examples);
    return u.SerializeAsString();
  }

  absl::StatusOr<proto::UploadResponse> Send(const std::string& device, const proto::Task& task,
                                             const std::string& bytes) {
    proto::UploadRequest r;
    r.set_device_id(device);
    r.set_task_id(task.task_id());
    r.set_offset(0);
    r.set_data(bytes);
    r.set_total_size(bytes.size());
    r.set_final(true);
    return federation_->Upload(r);
  }

  std::string dir_;
  SigningKey key_ = *SigningKey::Generate();
  FederationOptions options_;
  FakeClock clock_;
  std::unique_ptr<SqliteStateStore> store_;
  std::unique_ptr<FaultyStore> faulty_;
  std::unique_ptr<Federation> federation_;
  std::function<std::unique_ptr<Strategy>()> strategy_ = [] { return std::make_unique<FedAvg>(); };
};

TEST_F(FederationStoreTest, AcknowledgedUpdatesSurviveACrashAndCountOnce) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();  // opens round 1
  const proto::Task t0 = TaskFor("d0"), t1 = TaskFor("d1"), t2 = TaskFor("d2");
  const std::string u0 = Encode(t0, {1, 1, 1, 1}, 1), u1 = Encode(t1, {3, 3, 3, -1}, 3);
  ASSERT_TRUE(Send("d0", t0, u0)->accepted());
  ASSERT_TRUE(Send("d1", t1, u1)->accepted());
  Crash();

  ASSERT_TRUE(Start().ok());
  proto::StatusResponse status = federation_->GetStatus();
  EXPECT_EQ(status.current_round(), 1u);
  EXPECT_EQ(status.registered_devices(), 3u);
  // d0's reply was lost: it sends again, is told OK, and is not counted twice.
  absl::StatusOr<proto::UploadResponse> again = Send("d0", t0, u0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->accepted());
  ASSERT_TRUE(Send("d2", t2, Encode(t2, {0, 0, 0, 4}, 4))->accepted());
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].round(), 1u);
  EXPECT_EQ(records[0].accepted(), 3u);
  // The weighted mean of exactly the three acknowledged updates.
  EXPECT_THAT(federation_->global_model().values,
              ElementsAre(FloatEq(10.f / 8), FloatEq(10.f / 8), FloatEq(10.f / 8), FloatEq(14.f / 8)));
  EXPECT_EQ(federation_->model_version(), 2u);
}

// A weighted mean is checkpointed: each batch stores the round's progress,
// and the acknowledged updates are stored without their bytes.
TEST_F(FederationStoreTest, AStreamingRoundStoresItsProgressNotTheUpdates) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  const proto::Task t0 = TaskFor("d0"), t1 = TaskFor("d1");
  const std::string u0 = Encode(t0, {1, 2, 3, 4}, 2), u1 = Encode(t1, {5, 6, 7, 8}, 1);
  ASSERT_TRUE(Send("d0", t0, u0)->accepted());
  ASSERT_TRUE(Send("d1", t1, u1)->accepted());
  absl::StatusOr<StoredState> stored = store_->Load();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->open_updates.size(), 2u);
  EXPECT_TRUE(stored->open_updates[0].bytes.empty());
  EXPECT_EQ(stored->open_updates[0].size, u0.size());
  EXPECT_EQ(stored->open_updates[1].size, u1.size());
  EXPECT_FALSE(stored->open_progress.empty());
  Crash();
  ASSERT_TRUE(Start().ok());
  // The resumed reply repeats the size the device sent.
  absl::StatusOr<proto::UploadResponse> again = Send("d1", t1, u1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->committed_offset(), u1.size());
  const proto::Task t2 = TaskFor("d2");
  ASSERT_TRUE(Send("d2", t2, Encode(t2, {0, 0, 0, 3}, 1))->accepted());
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 3u);
  EXPECT_THAT(federation_->global_model().values,
              ElementsAre(FloatEq(7.f / 4), FloatEq(10.f / 4), FloatEq(13.f / 4), FloatEq(19.f / 4)));
}

// A robust strategy keeps every update, so its updates are stored with their
// bytes and replayed through the same checks after a restart.
TEST_F(FederationStoreTest, AHoldingStrategyStoresAndReplaysEveryUpdate) {
  strategy_ = [] { return std::make_unique<CoordinateMedian>(); };
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  const proto::Task t0 = TaskFor("d0"), t1 = TaskFor("d1");
  ASSERT_TRUE(Send("d0", t0, Encode(t0, {1, 10, -1, 0}))->accepted());
  ASSERT_TRUE(Send("d1", t1, Encode(t1, {2, 20, -2, 0}))->accepted());
  absl::StatusOr<StoredState> stored = store_->Load();
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->open_updates.size(), 2u);
  EXPECT_FALSE(stored->open_updates[0].bytes.empty());
  EXPECT_TRUE(stored->open_progress.empty());
  Crash();
  ASSERT_TRUE(Start().ok());
  const proto::Task t2 = TaskFor("d2");
  ASSERT_TRUE(Send("d2", t2, Encode(t2, {3, 0, -3, 5}))->accepted());
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 3u);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(2), FloatEq(10), FloatEq(-2), FloatEq(0)));
}

// Client-level DP resumes with its adaptive clip norm and its accountant:
// the open round's stored progress was clipped at the norm round 1 left (a
// resume without it refuses that progress), and ε composes every round.
TEST_F(FederationStoreTest, ClientLevelDpResumesItsClipNormAndAccountant) {
  DeterministicRandom noise(5);
  options_.client_dp = ClientDpOptions{.clip_norm = 1,
                                       .noise_multiplier = 1,
                                       .device_sampling_rate = 0.5,
                                       .adaptive = true,
                                       .target_quantile = 0.5,
                                       .clip_learning_rate = 0.2,
                                       .count_noise = 1};
  options_.dp_random = &noise;
  options_.limits.max_l2_norm = 0;
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  for (const char* d : {"d0", "d1", "d2"}) {
    const proto::Task t = TaskFor(d);
    ASSERT_TRUE(Send(d, t, Encode(t, {3, 0, 0, 4}))->accepted());
  }
  std::vector<proto::RoundRecord> r1 = federation_->Tick();
  ASSERT_EQ(r1.size(), 1u);
  const double clip_after_round_1 = r1[0].metrics().at("client_clip_norm");
  ASSERT_NE(clip_after_round_1, 1.0);  // adaptive: round 1 moved it
  federation_->Tick();                 // opens round 2
  const proto::Task t0 = TaskFor("d0");
  ASSERT_TRUE(Send("d0", t0, Encode(t0, {0, 5, 0, 0}))->accepted());
  Crash();

  absl::Status resumed = Start();
  ASSERT_TRUE(resumed.ok()) << resumed;
  for (const char* d : {"d1", "d2"}) {
    const proto::Task t = TaskFor(d);
    ASSERT_TRUE(Send(d, t, Encode(t, {0, 5, 0, 0}))->accepted());
  }
  std::vector<proto::RoundRecord> r2 = federation_->Tick();
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].accepted(), 3u);
  std::unique_ptr<ClientDp> two_rounds = *ClientDp::Create(*options_.client_dp, &noise);
  ASSERT_TRUE(two_rounds->Restore(clip_after_round_1, 2).ok());
  EXPECT_DOUBLE_EQ(r2[0].metrics().at("client_epsilon"), two_rounds->Epsilon(options_.client_dp_delta)->epsilon);
}

// Concurrent uploads are acknowledged through group commit (batched appends
// outside the Federation's lock); the order they were folded in is the order
// a restart replays them in, so the aggregate is bit-identical. The values
// are chosen so that another summation order gives other floats.
TEST_F(FederationStoreTest, ConcurrentAcknowledgementsReplayInTheirAggregationOrder) {
  constexpr int kConcurrent = 8;
  options_.devices_per_round = kConcurrent + 1;
  options_.min_devices = kConcurrent + 1;
  options_.limits.max_l2_norm = 0;
  ASSERT_TRUE(Start().ok());
  RegisterAll(kConcurrent + 1);
  federation_->Tick();
  std::vector<proto::Task> tasks;
  for (int i = 0; i <= kConcurrent; ++i) tasks.push_back(TaskFor(absl::StrCat("d", i)));
  std::vector<std::thread> uploaders;
  for (int i = 0; i < kConcurrent; ++i) {
    uploaders.emplace_back([&, i] {
      const float big = (i % 2 == 0 ? 1e7f : -1e7f) * static_cast<float>(i + 1);
      const std::string bytes = Encode(tasks[i], {big, 0.1f * static_cast<float>(i), 1.f / 3, -big / 7}, i + 1);
      absl::StatusOr<proto::UploadResponse> r = Send(absl::StrCat("d", i), tasks[i], bytes);
      EXPECT_TRUE(r.ok() && r->accepted()) << i << ": " << r.status();
    });
  }
  for (std::thread& t : uploaders) t.join();
  const std::string copy = dir_ + ".copy";
  fs::remove_all(copy);
  ASSERT_TRUE(BackupStateDir(dir_, copy).ok());
  const std::string last = Encode(tasks[kConcurrent], {0.5f, 0.25f, 0.125f, 3.f}, 7);
  ASSERT_TRUE(Send(absl::StrCat("d", kConcurrent), tasks[kConcurrent], last)->accepted());
  ASSERT_EQ(federation_->Tick().size(), 1u);
  const std::vector<float> uninterrupted = federation_->global_model().values;

  Crash();
  dir_ = copy;  // the state as it was before the last update
  ASSERT_TRUE(Start().ok());
  ASSERT_TRUE(Send(absl::StrCat("d", kConcurrent), tasks[kConcurrent], last)->accepted());
  ASSERT_EQ(federation_->Tick().size(), 1u);
  EXPECT_EQ(federation_->global_model().values, uninterrupted);
}

// fedge-sim --resume re-runs an interrupted round from its start: with
// restart_open_round the acknowledged updates are dropped (from the store
// too) and the same cohort gets its tasks again.
TEST_F(FederationStoreTest, RestartOpenRoundDropsAcknowledgedUpdatesAndReissuesTasks) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  const std::vector<std::string> cohort = federation_->selected_devices();
  const proto::Task t0 = TaskFor("d0");
  ASSERT_TRUE(Send("d0", t0, Encode(t0, {8, 8, 8, 8}, 1))->accepted());
  Crash();

  options_.restart_open_round = true;
  for (int restart = 0; restart < 2; ++restart) {  // the drop is stored: twice gives the same
    ASSERT_TRUE(Start().ok());
    EXPECT_EQ(federation_->GetStatus().current_round(), 1u);
    EXPECT_EQ(federation_->selected_devices(), cohort);
    Crash();
  }
  ASSERT_TRUE(Start().ok());
  for (const char* d : {"d0", "d1", "d2"}) {
    const proto::Task t = TaskFor(d);
    EXPECT_EQ(t.round(), 1u);
    ASSERT_TRUE(Send(d, t, Encode(t, {1, 2, 3, 4}, 1))->accepted()) << d;
  }
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 3u);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(1), FloatEq(2), FloatEq(3), FloatEq(4)));
}

TEST_F(FederationStoreTest, ResumesVersionRoundsDevicesAndDeployedModel) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  for (int round = 1; round <= 2; ++round) {
    federation_->Tick();
    for (int i = 0; i < 3; ++i) {
      const proto::Task t = TaskFor(absl::StrCat("d", i));
      ASSERT_TRUE(Send(absl::StrCat("d", i), t, Encode(t, {1, 0, 0, 0}))->accepted());
    }
  }
  ASSERT_EQ(federation_->Tick().size(), 1u);  // completes round 2, opens round 3
  proto::ArtifactBody int8 = *testing::BuildCalibrated(testing::StudentCnn(1), 4, 1);
  int8.mutable_header()->set_model_id("fedge");
  int8.mutable_header()->set_version(1);
  int8.mutable_header()->set_parent_version(3);
  int8.mutable_header()->set_dtype(proto::DTYPE_INT8);
  ASSERT_TRUE(federation_->PublishDeployedModel(*SignArtifact(int8, key_)).ok());
  const std::vector<float> model = federation_->global_model().values;
  const std::string artifact = federation_->signed_model();
  Crash();

  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(federation_->model_version(), 3u);
  EXPECT_EQ(federation_->global_model().values, model);
  EXPECT_EQ(federation_->signed_model(), artifact);  // devices mid-download keep the same bytes
  ASSERT_EQ(federation_->rounds().size(), 2u);
  EXPECT_EQ(federation_->rounds()[1].round(), 2u);
  EXPECT_EQ(federation_->deployed_model_version(), 1u);
  EXPECT_EQ(federation_->GetStatus().current_round(), 3u);  // the open round, not a new one
  EXPECT_EQ(federation_->GetStatus().registered_devices(), 3u);
  // The next round is 3 and trains version 3.
  const proto::Task t = TaskFor("d0");
  EXPECT_EQ(t.round(), 3u);
  EXPECT_EQ(t.model_version(), 3u);
}

TEST_F(FederationStoreTest, DeadlineIsReArmedWithTheGrace) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  Crash();
  clock_.Advance(absl::Minutes(10));  // down past the deadline
  ASSERT_TRUE(Start().ok());
  EXPECT_TRUE(federation_->Tick().empty());  // not closed at once: devices get the grace
  EXPECT_EQ(TaskFor("d0").deadline_unix_micros(), absl::ToUnixMicros(clock_.Now() + absl::Minutes(1)));
  clock_.Advance(absl::Minutes(1));
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].succeeded());  // no quorum: closed at the re-armed deadline
}

TEST_F(FederationStoreTest, FullDiskRefusesTheAcknowledgement) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  const proto::Task t0 = TaskFor("d0");
  const std::string u0 = Encode(t0, {1, 1, 1, 1});
  faulty_->fail_append = absl::ResourceExhaustedError("state.db: database or disk is full");
  absl::StatusOr<proto::UploadResponse> refused = Send("d0", t0, u0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  faulty_->fail_append = absl::OkStatus();
  // Nothing was counted; the same update sent again once there is space is.
  absl::StatusOr<proto::UploadResponse> accepted = Send("d0", t0, u0);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_TRUE(accepted->accepted());
  Crash();
  ASSERT_TRUE(Start().ok());
  for (const char* d : {"d1", "d2"}) {
    const proto::Task t = TaskFor(d);
    ASSERT_TRUE(Send(d, t, Encode(t, {1, 1, 1, 1}))->accepted());
  }
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 3u);
}

TEST_F(FederationStoreTest, RoundWhoseCloseWasNotStoredClosesOnResume) {
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  federation_->Tick();
  faulty_->fail_close = absl::ResourceExhaustedError("disk full");
  for (int i = 0; i < 3; ++i) {
    const std::string d = absl::StrCat("d", i);
    const proto::Task t = TaskFor(d);
    ASSERT_TRUE(Send(d, t, Encode(t, {2, 0, 0, 0}))->accepted());  // the third closes the round
  }
  // In memory the round closed, but the store could not record it: the
  // coordinator stops acknowledging and opens no new round.
  ASSERT_EQ(federation_->Tick().size(), 1u);
  EXPECT_EQ(federation_->GetStatus().current_round(), 1u);
  Crash();
  ASSERT_TRUE(Start().ok());  // the space is back
  EXPECT_EQ(federation_->model_version(), 2u);  // round 1 closed again from its acknowledged updates
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].round(), 1u);
  EXPECT_EQ(records[0].accepted(), 3u);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(2), FloatEq(0), FloatEq(0), FloatEq(0)));
}

TEST_F(FederationStoreTest, CrashBeforeEvaluationCompletesTheRecordOnce) {
  SumEvaluator evaluator;
  ASSERT_TRUE(Start(&evaluator).ok());
  RegisterAll();
  federation_->Tick();
  std::vector<std::pair<proto::Task, std::string>> sent;
  for (int i = 0; i < 3; ++i) {
    const std::string d = absl::StrCat("d", i);
    const proto::Task t = TaskFor(d);
    sent.emplace_back(t, Encode(t, {1, 0, 0, 0}));
    ASSERT_TRUE(Send(d, t, sent.back().second)->accepted());
  }
  Crash();  // closed, not evaluated yet
  ASSERT_TRUE(Start(&evaluator).ok());
  // The last closed round's replies survive: a device whose reply was lost is told OK.
  absl::StatusOr<proto::UploadResponse> again = Send("d2", sent[2].first, sent[2].second);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->accepted());
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].metrics().at("test_sum"), 1.0);
  EXPECT_EQ(evaluator.calls, 1);
  Crash();
  ASSERT_TRUE(Start(&evaluator).ok());
  EXPECT_TRUE(federation_->Tick().empty());
  ASSERT_EQ(federation_->rounds().size(), 1u);
  EXPECT_EQ(federation_->rounds()[0].metrics().at("test_sum"), 1.0);
  EXPECT_EQ(federation_->GetStatus().current_round(), 2u);
}

// Round 2 runs and closes while round 1 is evaluated, and the process dies
// before either is completed: both records come back, in order, each
// evaluated on its own model.
TEST_F(FederationStoreTest, RoundsClosedDuringAnEvaluationAllCompleteAfterACrash) {
  SumEvaluator evaluator;
  ASSERT_TRUE(Start(&evaluator).ok());
  RegisterAll();
  federation_->Tick();
  auto run_round = [&](float value) {
    for (int i = 0; i < 3; ++i) {
      const std::string d = absl::StrCat("d", i);
      const proto::Task t = TaskFor(d);
      EXPECT_TRUE(Send(d, t, Encode(t, {value, 0, 0, 0}))->accepted());
    }
  };
  run_round(1);
  faulty_->fail_complete = absl::UnavailableError("the disk went away");
  evaluator.during_next = [&] { run_round(2); };
  federation_->Tick();  // evaluates round 1 while round 2 runs and closes
  Crash();
  ASSERT_TRUE(Start(&evaluator).ok());
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].round(), 1u);
  EXPECT_EQ(records[0].metrics().at("test_sum"), 1.0);
  EXPECT_EQ(records[1].round(), 2u);
  EXPECT_EQ(records[1].metrics().at("test_sum"), 3.0);
  Crash();
  ASSERT_TRUE(Start(&evaluator).ok());
  ASSERT_EQ(federation_->rounds().size(), 2u);
  EXPECT_EQ(federation_->GetStatus().current_round(), 3u);
}

TEST_F(FederationStoreTest, DeploymentCounterContinuesAndAnInterruptedDeploymentRunsAgain) {
  CountingDeployer deployer(key_);
  options_.deploy_every = 1;
  options_.deployer = &deployer;
  ASSERT_TRUE(Start().ok());
  RegisterAll();
  auto run_round = [&] {
    federation_->Tick();
    for (int i = 0; i < 3; ++i) {
      const std::string d = absl::StrCat("d", i);
      const proto::Task t = TaskFor(d);
      ASSERT_TRUE(Send(d, t, Encode(t, {1, 0, 0, 0}))->accepted());
    }
  };
  run_round();
  ASSERT_EQ(federation_->Tick().size(), 1u);  // deploys INT8 model 1
  EXPECT_EQ(federation_->deployed_model_version(), 1u);
  run_round();
  Crash();  // round 2 closed, its deployment not made yet
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(federation_->deployed_model_version(), 1u);
  std::vector<proto::RoundRecord> records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].deployed_model_version(), 2u);  // 2, not 1 again: devices serving 1 take it
  EXPECT_EQ(deployer.versions, (std::vector<uint64_t>{1, 2}));
  run_round();
  Crash();
  // Resumed without a deployer: the pending record completes without deploying.
  options_.deploy_every = 0;
  options_.deployer = nullptr;
  ASSERT_TRUE(Start().ok());
  records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].round(), 3u);
  EXPECT_EQ(federation_->deployed_model_version(), 2u);
}

TEST_F(FederationStoreTest, AnotherSigningKeyIsRefusedWithWhatToDo) {
  ASSERT_TRUE(Start().ok());
  Crash();
  key_ = *SigningKey::Generate();
  const absl::Status status = Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("--signing-key"));
  EXPECT_THAT(status.message(), HasSubstr("--new-run"));
}

}  // namespace
}  // namespace fedge
