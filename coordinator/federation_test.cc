#include "coordinator/federation.h"

#include <cstring>
#include <optional>

#include "aggregation/fedavg.h"
#include "coordinator/testing/federation_fixtures.h"
#include "core/artifact.h"
#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

using fedge::testing::SumEvaluator;
using fedge::testing::TinyModel;

class FederationTest : public ::testing::Test {
 protected:
  void Start(FederationOptions options, int num_devices, ModelEvaluator* evaluator = nullptr) {
    options.min_devices = num_devices;
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    verify_key_ = key->verify_key();
    signing_key_ = *key;
    auto f = Federation::Create(options, std::make_unique<FedAvg>(), TinyModel(), *std::move(key), &clock_, evaluator);
    ASSERT_TRUE(f.ok()) << f.status();
    federation_ = *std::move(f);
    for (int i = 0; i < num_devices; ++i) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(absl::StrCat("d", i));
      ASSERT_TRUE(federation_->Register(r).ok());
    }
    EXPECT_TRUE(federation_->Tick().empty());  // opens round 1
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

  std::string Encode(const proto::Task& task, const std::vector<float>& delta, uint64_t examples = 1) {
    proto::EncodedUpdate u = fedge::testing::Fp32Update(task, delta, examples);
    (*u.mutable_metrics())["train_loss"] = examples;
    return u.SerializeAsString();
  }

  absl::StatusOr<proto::UploadResponse> Send(const std::string& device, const proto::Task& task,
                                             const std::string& bytes, uint64_t offset = 0, bool final = true,
                                             size_t len = std::string::npos) {
    proto::UploadRequest r;
    r.set_device_id(device);
    r.set_task_id(task.task_id());
    r.set_offset(offset);
    r.set_data(bytes.substr(offset, len));
    r.set_total_size(bytes.size());
    r.set_final(final);
    return federation_->Upload(r);
  }

  absl::StatusOr<proto::UploadResponse> Upload(const std::string& device, const std::vector<float>& delta,
                                               uint64_t examples = 1) {
    const proto::Task task = TaskFor(device);
    return Send(device, task, Encode(task, delta, examples));
  }

  FakeClock clock_;
  VerifyKey verify_key_ = *VerifyKey::FromRaw(std::string(32, '\0'));
  std::optional<SigningKey> signing_key_;  // the federation's, for artifacts it must accept
  std::unique_ptr<Federation> federation_;
};

FederationOptions Target(int64_t devices_per_round, int64_t quorum = 1) {
  FederationOptions o;
  o.devices_per_round = devices_per_round;
  o.min_quorum = quorum;
  o.over_selection = 1.0;
  o.round_deadline = absl::Minutes(5);
  return o;
}

TEST_F(FederationTest, RoundClosesAtTargetWithTheWeightedMean) {
  Start(Target(2), 2);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}, 1).ok());
  ASSERT_TRUE(Upload("d1", {3, 3, 3, -1}, 3).ok());
  auto records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].succeeded());
  EXPECT_EQ(records[0].accepted(), 2u);
  EXPECT_EQ(records[0].model_version(), 2u);
  EXPECT_DOUBLE_EQ(records[0].metrics().at("device_train_loss"), (1 * 1 + 3 * 3) / 4.0);
  EXPECT_EQ(federation_->model_version(), 2u);
  EXPECT_THAT(federation_->global_model().values, ElementsAre(FloatEq(2.5f), FloatEq(2.5f), FloatEq(2.5f), FloatEq(-0.5f)));
}

TEST_F(FederationTest, OverSelectionSamplesReproducibly) {
  FederationOptions o = Target(4);
  o.over_selection = 1.5;
  Start(o, 10);
  const std::vector<std::string> first = federation_->selected_devices();
  EXPECT_EQ(first.size(), 6u);
  Start(o, 10);
  EXPECT_EQ(federation_->selected_devices(), first);
  int with_task = 0;
  for (int i = 0; i < 10; ++i) with_task += Poll(absl::StrCat("d", i))->has_task();
  EXPECT_EQ(with_task, 6);
}

// The first chunk's header is checked before the body arrives: an update
// trained from an old model is refused at once, finally, as a mismatch.
TEST_F(FederationTest, AStaleUpdateIsRefusedAtItsFirstChunk) {
  Start(Target(2), 2);
  const proto::Task task = TaskFor("d0");
  proto::EncodedUpdate stale;
  ASSERT_TRUE(stale.ParseFromString(Encode(task, {1, 1, 1, 1})));
  stale.set_base_version(task.model_version() - 1);
  const std::string bytes = stale.SerializeAsString();
  proto::UploadRequest first;
  first.set_device_id("d0");
  first.set_task_id(task.task_id());
  first.set_data(bytes.substr(0, 8));
  first.set_total_size(bytes.size());
  *first.mutable_header() = UpdateHeaderOf(stale);
  auto refused = federation_->Upload(first);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("trained from model version"));
  // The rest is answered the same, never stored.
  EXPECT_EQ(Send("d0", task, bytes, 8).status(), refused.status());
  // A header that fits lets the update through.
  const proto::Task t1 = TaskFor("d1");
  const std::string good = Encode(t1, {2, 2, 2, 2});
  proto::EncodedUpdate parsed;
  ASSERT_TRUE(parsed.ParseFromString(good));
  proto::UploadRequest whole;
  whole.set_device_id("d1");
  whole.set_task_id(t1.task_id());
  whole.set_data(good);
  whole.set_total_size(good.size());
  whole.set_final(true);
  *whole.mutable_header() = UpdateHeaderOf(parsed);
  ASSERT_TRUE(federation_->Upload(whole).ok());
  auto records = federation_->Tick();  // both devices answered
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 1u);
  EXPECT_THAT(records[0].rejections(), ElementsAre(Pair("mismatch", 1u)));
}

// A rejected update is final: once every selected device has answered, the
// round closes without waiting for its deadline.
TEST_F(FederationTest, RoundClosesOnceEverySelectedDeviceAnswered) {
  Start(Target(3, 2), 3);
  ASSERT_TRUE(Upload("d0", {2, 2, 2, 2}).ok());
  const proto::Task bad = TaskFor("d1");
  EXPECT_EQ(Send("d1", bad, "not a protobuf at all").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(federation_->Tick().empty());  // d2 may still answer
  ASSERT_TRUE(Upload("d2", {4, 4, 4, 4}).ok());
  auto records = federation_->Tick();  // no time passed
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].succeeded());
  EXPECT_EQ(records[0].accepted(), 2u);
  EXPECT_EQ(records[0].rejected(), 1u);
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(3)));
}

TEST_F(FederationTest, DeadlineClosesTheRoundWithWhatArrived) {
  Start(Target(3), 3);
  ASSERT_TRUE(Upload("d0", {2, 2, 2, 2}).ok());
  TaskFor("d1");  // d1 takes a task and never reports
  clock_.Advance(absl::Minutes(4));
  EXPECT_TRUE(federation_->Tick().empty());
  clock_.Advance(absl::Minutes(2));
  auto records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].succeeded());
  EXPECT_EQ(records[0].accepted(), 1u);
  EXPECT_EQ(records[0].late(), 1u);
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(2)));
}

TEST_F(FederationTest, QuorumNotReachedLeavesTheModelUnchanged) {
  Start(Target(3, /*quorum=*/2), 3);
  const std::string before = federation_->signed_model();
  ASSERT_TRUE(Upload("d0", {2, 2, 2, 2}).ok());
  clock_.Advance(absl::Minutes(6));
  auto records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_FALSE(records[0].succeeded());
  EXPECT_THAT(records[0].failure(), HasSubstr("quorum"));
  EXPECT_EQ(federation_->model_version(), 1u);
  EXPECT_EQ(federation_->signed_model(), before);
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(0)));
}

TEST_F(FederationTest, LateUpdateIsRefusedAndNeverAggregated) {
  Start(Target(2), 2);
  const proto::Task late_task = TaskFor("d1");
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  clock_.Advance(absl::Minutes(6));
  ASSERT_EQ(federation_->Tick().size(), 1u);
  auto late = Send("d1", late_task, Encode(late_task, {100, 100, 100, 100}));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.status().message(), HasSubstr("late"));
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(1)));
}

TEST_F(FederationTest, ResubmissionIsAcknowledgedButCountedOnce) {
  Start(Target(2), 2);
  const proto::Task task = TaskFor("d0");
  const std::string bytes = Encode(task, {4, 4, 4, 4});
  ASSERT_TRUE(Send("d0", task, bytes)->accepted());
  auto again = Send("d0", task, bytes);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->accepted());
  EXPECT_FALSE(Poll("d0")->has_task());  // done for this round
  ASSERT_TRUE(Upload("d1", {0, 0, 0, 0}).ok());
  auto records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 2u);
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(2)));
}

TEST_F(FederationTest, RetriedFinalChunkIsAcknowledgedAfterItClosedTheRound) {
  Start(Target(1), 1);
  const proto::Task task = TaskFor("d0");
  const std::string bytes = Encode(task, {1, 1, 1, 1});
  ASSERT_TRUE(Send("d0", task, bytes)->accepted());  // closes the round; the reply is lost
  auto retried = Send("d0", task, bytes);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(retried->accepted());
  EXPECT_EQ(Send("d1", task, bytes).status().code(), absl::StatusCode::kFailedPrecondition);  // not d1's task
  ASSERT_EQ(federation_->Tick().size(), 1u);
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(1)));
}

TEST_F(FederationTest, MalformedUpdatesAreRejectedWithoutTouchingTheAggregate) {
  Start(Target(5), 5);
  proto::Task t0 = TaskFor("d0");
  proto::Task wrong_round = t0;
  wrong_round.set_round(7);
  auto r0 = Send("d0", t0, Encode(wrong_round, {9, 9, 9, 9}));
  EXPECT_EQ(r0.status().code(), absl::StatusCode::kFailedPrecondition);

  auto r1 = Upload("d1", {1, 2, 3});  // wrong element count
  EXPECT_EQ(r1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r1.status().message(), HasSubstr("elements"));

  const proto::Task t2 = TaskFor("d2");
  auto r2 = Send("d2", t2, Encode(t2, {1, std::nanf(""), 0, 0}));
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument);

  const proto::Task t3 = TaskFor("d3");
  auto r3 = Send("d3", t3, "not a protobuf at all");
  EXPECT_EQ(r3.status().code(), absl::StatusCode::kInvalidArgument);

  auto r4 = Upload("d4", {1, 1, 1, 1});
  ASSERT_TRUE(r4.ok());
  // A rejected update stays rejected when resubmitted, and is counted once.
  EXPECT_EQ(Send("d2", t2, Encode(t2, {0, 0, 0, 0})).status(), r2.status());
  clock_.Advance(absl::Minutes(6));
  auto records = federation_->Tick();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].accepted(), 1u);
  EXPECT_EQ(records[0].rejected(), 4u);
  // By reason: wrong round and wrong size, NaN, garbage.
  EXPECT_THAT(records[0].rejections(),
              UnorderedElementsAre(Pair("mismatch", 2u), Pair("decode", 1u), Pair("corrupt", 1u)));
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(1)));
}

TEST_F(FederationTest, UploadResumesAfterADisconnect) {
  Start(Target(1), 1);
  const proto::Task task = TaskFor("d0");
  const std::string bytes = Encode(task, {5, 5, 5, 5});
  const size_t half = bytes.size() / 2;
  auto first = Send("d0", task, bytes, 0, /*final=*/false, half);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->committed_offset(), half);
  // The device reconnects and asks where to resume with an empty chunk.
  proto::UploadRequest probe;
  probe.set_device_id("d0");
  probe.set_task_id(task.task_id());
  probe.set_total_size(bytes.size());
  auto resume = federation_->Upload(probe);
  ASSERT_TRUE(resume.ok());
  EXPECT_EQ(resume->committed_offset(), half);
  auto rest = Send("d0", task, bytes, resume->committed_offset(), /*final=*/true);
  ASSERT_TRUE(rest.ok());
  EXPECT_TRUE(rest->accepted());
  ASSERT_EQ(federation_->Tick().size(), 1u);
  EXPECT_THAT(federation_->global_model().values, Each(FloatEq(5)));
}

TEST_F(FederationTest, ChunkedDownloadReassemblesTheSignedModel) {
  FederationOptions o = Target(1);
  o.download_chunk_bytes = 1024;
  Start(o, 1);
  const proto::Task task = TaskFor("d0");
  std::string model;
  while (model.size() < task.model_size_bytes()) {
    proto::DownloadRequest r;
    r.set_device_id("d0");
    r.set_model_version(task.model_version());
    r.set_offset(model.size());
    r.set_max_bytes(16);
    auto chunk = federation_->Download(r);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    ASSERT_LE(chunk->data().size(), 16u);
    model += chunk->data();
  }
  auto body = OpenArtifact(model, verify_key_);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->header().version(), 1u);
  EXPECT_EQ(ParamsFromBody(*body)->values, TinyModel().values);
  proto::DownloadRequest stale;
  stale.set_model_version(0);
  EXPECT_EQ(federation_->Download(stale).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FederationTest, EvaluatesEachRoundAndStopsAfterMaxRounds) {
  SumEvaluator evaluator;
  FederationOptions o = Target(1);
  o.max_rounds = 2;
  Start(o, 1, &evaluator);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  auto r1 = federation_->Tick();
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_DOUBLE_EQ(r1[0].metrics().at("test_sum"), 4);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  auto r2 = federation_->Tick();
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_DOUBLE_EQ(r2[0].metrics().at("test_sum"), 8);
  EXPECT_TRUE(federation_->finished());
  EXPECT_EQ(Poll("d0").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(federation_->rounds().size(), 2u);
}

// Devices need not wait for the evaluation: the next round opens as soon as
// the last one closes, and a round may even close while the one before is
// still evaluated; each record carries its own model's evaluation.
TEST_F(FederationTest, TheNextRoundRunsWhileTheClosedOneIsEvaluated) {
  SumEvaluator evaluator;
  FederationOptions o = Target(1);
  o.max_rounds = 3;
  Start(o, 1, &evaluator);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  std::optional<uint64_t> round_during_evaluation;
  evaluator.during_next = [&] {
    const proto::Task task = TaskFor("d0");
    round_during_evaluation = task.round();
    EXPECT_TRUE(Send("d0", task, Encode(task, {2, 2, 2, 2})).ok());
  };
  std::vector<proto::RoundRecord> first = federation_->Tick();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(round_during_evaluation, 2u);
  EXPECT_DOUBLE_EQ(first[0].metrics().at("test_sum"), 4);  // round 1's model, not round 2's
  std::vector<proto::RoundRecord> second = federation_->Tick();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].round(), 2u);
  EXPECT_DOUBLE_EQ(second[0].metrics().at("test_sum"), 12);
  EXPECT_EQ(federation_->GetStatus().current_round(), 3u);
  EXPECT_EQ(evaluator.calls, 2);
}

TEST_F(FederationTest, ClientLevelDpClipsUnweightedAndAccountsEachRound) {
  DeterministicRandom noise(5);
  FederationOptions o = Target(2);
  o.max_rounds = 2;
  o.client_dp = ClientDpOptions{.clip_norm = 1, .noise_multiplier = 0.01, .device_sampling_rate = 0.5};
  o.dp_random = &noise;
  Start(o, 2);
  ASSERT_TRUE(Upload("d0", {10, 0, 0, 0}, /*examples=*/1).ok());
  ASSERT_TRUE(Upload("d1", {0, 0, 0, -3}, /*examples=*/1000).ok());  // weight ignored
  auto r1 = federation_->Tick();
  ASSERT_EQ(r1.size(), 1u);
  // Each update clipped to norm 1, summed, divided by the target of 2.
  const std::vector<float> global = federation_->global_model().values;
  EXPECT_NEAR(global[0], 0.5, 0.03);
  EXPECT_NEAR(global[3], -0.5, 0.03);
  const double eps1 = r1[0].metrics().at("client_epsilon");
  EXPECT_GT(eps1, 0);
  ASSERT_TRUE(Upload("d0", {1, 0, 0, 0}).ok());
  ASSERT_TRUE(Upload("d1", {1, 0, 0, 0}).ok());
  auto r2 = federation_->Tick();
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_GT(r2[0].metrics().at("client_epsilon"), eps1);
  FederationOptions bad = Target(1);
  bad.client_dp = ClientDpOptions{};  // no sampling rate
  EXPECT_EQ(ValidateFederationOptions(bad).code(), absl::StatusCode::kInvalidArgument);
}

void ReportAlarm(Federation& federation, const std::string& device, double statistic) {
  proto::DeviceReport report;
  report.set_device_id(device);
  proto::DriftAlarm* alarm = report.add_alarms();
  alarm->set_detector("page_hinkley");
  alarm->set_statistic(statistic);
  alarm->set_unix_micros(123);
  ASSERT_TRUE(federation.Report(report).ok());
}

// An alarm that arrives while no round is open (the last one closed, the
// next not yet opened) is counted in the next round's record, not dropped.
TEST_F(FederationTest, AnAlarmBetweenRoundsCountsInTheNextRound) {
  FederationOptions o = Target(1);
  o.max_rounds = 2;
  Start(o, 1);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());  // round 1 closes; round 2 opens at the next Tick
  ReportAlarm(*federation_, "d0", 55.0);
  std::vector<proto::RoundRecord> first = federation_->Tick();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].drift_alarms(), 0u);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  std::vector<proto::RoundRecord> second = federation_->Tick();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].drift_alarms(), 1u);
}

TEST_F(FederationTest, DriftMapFavoursDriftingDevicesAndGrantsAnExtraRound) {
  FederationOptions o = Target(2);
  o.max_rounds = 1;
  o.favour_drifting = true;
  o.extra_round_drift_fraction = 0.2;
  o.max_extra_rounds = 1;
  Start(o, 10);
  ASSERT_TRUE(Upload(federation_->selected_devices()[0], {1, 1, 1, 1}).ok());
  const std::string other = federation_->selected_devices()[1];
  // Two devices that were not selected drift before the round closes.
  std::vector<std::string> drifting;
  for (int i = 0; i < 10 && drifting.size() < 2; ++i) {
    const std::string id = absl::StrCat("d", i);
    if (id != federation_->selected_devices()[0] && id != other) drifting.push_back(id);
  }
  for (const std::string& id : drifting) ReportAlarm(*federation_, id, 55.0);
  ASSERT_TRUE(Upload(other, {1, 1, 1, 1}).ok());
  auto r1 = federation_->Tick();  // closes round 1, grants round 2, opens it
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_EQ(r1[0].drift_alarms(), 2u);
  EXPECT_EQ(r1[0].metrics().at("drifting_devices"), 2);
  EXPECT_FALSE(federation_->finished());
  std::vector<std::string> selected = federation_->selected_devices();
  std::sort(selected.begin(), selected.end());
  EXPECT_EQ(selected, drifting);  // the drifting devices come first
  const proto::StatusResponse status = federation_->GetStatus();
  ASSERT_EQ(status.drift_size(), 2);
  EXPECT_TRUE(status.drift(0).drifting());
  EXPECT_EQ(status.drift(0).last_statistic(), 55.0);
  for (const std::string& id : drifting) ASSERT_TRUE(Upload(id, {1, 1, 1, 1}).ok());
  ASSERT_EQ(federation_->Tick().size(), 1u);
  EXPECT_TRUE(federation_->finished());  // only one extra round
  EXPECT_FALSE(federation_->GetStatus().drift(0).drifting());  // its update is in the model
}

TEST_F(FederationTest, RefusesUnknownDevicesAndBadOptions) {
  Start(Target(1), 1);
  EXPECT_EQ(Poll("stranger").status().code(), absl::StatusCode::kNotFound);
  FederationOptions bad = Target(1);
  bad.over_selection = 0.5;
  EXPECT_EQ(ValidateFederationOptions(bad).code(), absl::StatusCode::kInvalidArgument);
  bad = Target(0);
  EXPECT_EQ(ValidateFederationOptions(bad).code(), absl::StatusCode::kInvalidArgument);
}

// A signed INT8 artifact of the student CNN with the given header fields.
std::string Int8Artifact(const SigningKey& key, uint64_t version, uint64_t parent,
                         proto::DType dtype = proto::DTYPE_INT8, const std::string& model_id = "fedge") {
  // A real graph: Publish loads it with the devices' runtime.
  proto::ArtifactBody body = *testing::BuildCalibrated(testing::StudentCnn(1), 4, 1);
  body.mutable_header()->set_model_id(model_id);
  body.mutable_header()->set_version(version);
  body.mutable_header()->set_parent_version(parent);
  body.mutable_header()->set_dtype(dtype);
  return *SignArtifact(body, key);
}

// Signs a placeholder INT8 model per call, remembering what it was asked.
struct FakeDeployer final : public ModelDeployer {
  absl::StatusOr<Deployment> Deploy(const ModelParams& global, uint64_t parent_version, uint64_t version) override {
    calls.push_back({parent_version, version});
    if (federation != nullptr) round_open_while_deploying = federation->round_target() > 0;
    if (fail) return absl::InternalError("distillation diverged");
    return Deployment{.artifact = Int8Artifact(*key, version, parent_version),
                      .metrics = {{"int8_accuracy", global.values[0]}}};
  }
  std::optional<SigningKey> key;                      // signs the artifacts; set before the first round closes
  std::vector<std::pair<uint64_t, uint64_t>> calls;  // (parent_version, version)
  bool fail = false;
  const Federation* federation = nullptr;  // when set, Deploy notes whether a round is open
  bool round_open_while_deploying = false;
};

absl::StatusOr<std::string> DownloadDeployed(Federation& federation, uint64_t version) {
  proto::DownloadRequest r;
  r.set_device_id("d0");
  r.set_artifact(proto::ARTIFACT_DEPLOYED_MODEL);
  r.set_model_version(version);
  FEDGE_ASSIGN_OR_RETURN(proto::DownloadResponse chunk, federation.Download(r));
  return chunk.data();
}

TEST_F(FederationTest, DeploysEveryKRoundsAndServesTheInt8Model) {
  FederationOptions o = Target(1);
  o.max_rounds = 4;
  o.deploy_every = 2;
  FakeDeployer deployer;
  o.deployer = &deployer;
  Start(o, 1);
  deployer.key = signing_key_;
  deployer.federation = federation_.get();
  EXPECT_EQ(Poll("d0")->deployed_model_version(), 0u);
  EXPECT_EQ(DownloadDeployed(*federation_, 0).status().code(), absl::StatusCode::kFailedPrecondition);

  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  auto r1 = federation_->Tick();
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_TRUE(deployer.calls.empty());
  EXPECT_EQ(r1[0].deployed_model_version(), 0u);
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  auto r2 = federation_->Tick();
  ASSERT_EQ(r2.size(), 1u);
  ASSERT_EQ(deployer.calls.size(), 1u);
  EXPECT_EQ(deployer.calls[0], std::make_pair(uint64_t{3}, uint64_t{1}));  // global v3 -> deployed v1
  EXPECT_EQ(r2[0].deployed_model_version(), 1u);
  EXPECT_EQ(r2[0].metrics().at("deploy_int8_accuracy"), 2);  // the deployer saw round 2's model
  EXPECT_FALSE(deployer.round_open_while_deploying);  // round 3's tasks come with deployment 1
  EXPECT_GT(r2[0].metrics().at("deploy_artifact_bytes"), 0);

  auto poll = Poll("d0");
  ASSERT_TRUE(poll.ok() && poll->has_task());
  EXPECT_EQ(poll->deployed_model_version(), 1u);
  auto bytes = DownloadDeployed(*federation_, 1);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto body = OpenArtifact(*bytes, verify_key_);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->header().dtype(), proto::DTYPE_INT8);
  EXPECT_EQ(body->header().parent_version(), 3u);
  EXPECT_EQ(federation_->GetStatus().deployed_model_version(), 1u);

  // A device reporting that it serves the deployed model is counted.
  proto::DeviceReport report;
  report.set_device_id("d0");
  report.set_inference_model_version(1);
  ASSERT_TRUE(federation_->Report(report).ok());
  ASSERT_TRUE(Send("d0", poll->task(), Encode(poll->task(), {1, 1, 1, 1})).ok());
  auto r3 = federation_->Tick();
  ASSERT_EQ(r3.size(), 1u);
  EXPECT_EQ(r3[0].metrics().at("devices_serving_deployed"), 1);
  EXPECT_FALSE(r3[0].metrics().contains("deploy_artifact_bytes"));
  // The global model's header keeps its own metrics, not the deployment's.
  auto global = OpenArtifact(federation_->signed_model(), verify_key_);
  ASSERT_TRUE(global.ok()) << global.status();
  EXPECT_FALSE(global->header().metrics().contains("deploy_int8_accuracy"));
}

TEST_F(FederationTest, FailedDeploymentKeepsTheDeployedModelAndTheRounds) {
  FederationOptions o = Target(1);
  o.max_rounds = 2;
  o.deploy_every = 1;
  FakeDeployer deployer;
  o.deployer = &deployer;
  Start(o, 1);
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  deployer.key = *other;  // not the federation's key: refused at publication
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  auto r1 = federation_->Tick();
  ASSERT_EQ(r1.size(), 1u);
  EXPECT_TRUE(r1[0].succeeded());
  EXPECT_EQ(r1[0].metrics().at("deploy_failed"), 1);
  EXPECT_EQ(federation_->deployed_model_version(), 0u);
  deployer.fail = true;
  ASSERT_TRUE(Upload("d0", {1, 1, 1, 1}).ok());
  auto r2 = federation_->Tick();
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].metrics().at("deploy_failed"), 1);
  EXPECT_TRUE(federation_->finished());
}

TEST_F(FederationTest, PublishDeployedModelRefusesWhatDevicesMustNotServe) {
  Start(Target(1), 1);
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(federation_->PublishDeployedModel(Int8Artifact(*other, 1, 1)).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(federation_->PublishDeployedModel(Int8Artifact(*signing_key_, 1, 1, proto::DTYPE_FLOAT32)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(federation_->PublishDeployedModel(Int8Artifact(*signing_key_, 1, 1, proto::DTYPE_INT8, "other")).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(federation_->PublishDeployedModel(Int8Artifact(*signing_key_, 2, 1)).ok());
  EXPECT_EQ(federation_->PublishDeployedModel(Int8Artifact(*signing_key_, 2, 1)).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(federation_->deployed_model_version(), 2u);
  EXPECT_EQ(DownloadDeployed(*federation_, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  FederationOptions bad = Target(1);
  bad.deploy_every = 3;  // without a deployer
  EXPECT_EQ(ValidateFederationOptions(bad).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
