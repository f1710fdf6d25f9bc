// Regression tests for the hostile-device findings of issue #22: with the
// default configuration no single device can break the federation, and
// whatever it sends never reaches a signed model header unchecked.
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregation/coordinate_median.h"
#include "aggregation/fedadagrad.h"
#include "aggregation/fedadam.h"
#include "aggregation/fedavg.h"
#include "aggregation/fedavgm.h"
#include "aggregation/fedprox.h"
#include "aggregation/fedyogi.h"
#include "aggregation/krum.h"
#include "aggregation/trimmed_mean.h"
#include "coordinator/federation.h"
#include "coordinator/testing/federation_fixtures.h"
#include "core/artifact.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

constexpr float kHuge = 0.9f * std::numeric_limits<float>::max();

using fedge::testing::TinyModel;

bool AllFinite(const std::vector<float>& v) {
  for (float x : v) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

struct NamedStrategy {
  std::string name;
  std::function<std::unique_ptr<Strategy>()> make;
};

// Every weighted-mean strategy, the ones issue #22 found breakable.
std::vector<NamedStrategy> WeightedMeanStrategies() {
  return {{"fedavg", [] { return std::make_unique<FedAvg>(); }},
          {"fedprox", [] { return std::make_unique<FedProx>(); }},
          {"fedavgm", [] { return std::make_unique<FedAvgM>(); }},
          {"fedadam", [] { return std::make_unique<FedAdam>(); }},
          {"fedyogi", [] { return std::make_unique<FedYogi>(); }},
          {"fedadagrad", [] { return std::make_unique<FedAdagrad>(); }}};
}

// Two devices per round: "honest" and "attacker", both always selected.
class HostileUpdateTest : public ::testing::Test {
 protected:
  void Start(FederationOptions options, std::unique_ptr<Strategy> strategy) {
    options.min_devices = 2;
    options.devices_per_round = 2;
    options.over_selection = 1;
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    verify_key_ = key->verify_key();
    auto f = Federation::Create(options, std::move(strategy), TinyModel(), *std::move(key), &clock_, nullptr);
    ASSERT_TRUE(f.ok()) << f.status();
    federation_ = *std::move(f);
    for (const char* id : {"honest", "attacker"}) {
      proto::RegisterRequest r;
      r.mutable_device()->set_device_id(id);
      ASSERT_TRUE(federation_->Register(r).ok());
    }
    federation_->Tick();  // opens round 1
  }

  absl::StatusOr<proto::UploadResponse> Upload(const std::string& device, const std::vector<float>& delta,
                                               uint64_t examples,
                                               const std::function<void(proto::EncodedUpdate&)>& tamper = nullptr) {
    proto::PollTaskRequest poll;
    poll.set_device_id(device);
    poll.set_eligible(true);
    absl::StatusOr<proto::PollTaskResponse> response = federation_->PollTask(poll);
    if (!response.ok()) return response.status();
    if (!response->has_task()) return absl::FailedPreconditionError(absl::StrCat(device, " got no task"));
    const proto::Task& task = response->task();
    proto::EncodedUpdate u = fedge::testing::Fp32Update(task, delta, examples);
    (*u.mutable_metrics())["train_loss"] = 0.5;
    if (tamper) tamper(u);
    const std::string bytes = u.SerializeAsString();
    proto::UploadRequest r;
    r.set_device_id(device);
    r.set_task_id(task.task_id());
    r.set_data(bytes);
    r.set_total_size(bytes.size());
    r.set_final(true);
    return federation_->Upload(r);
  }

  // Closes the open round at its deadline and returns its record.
  proto::RoundRecord CloseRound() {
    clock_.Advance(absl::Hours(1));
    std::vector<proto::RoundRecord> records = federation_->Tick();
    EXPECT_EQ(records.size(), 1u);
    return records.empty() ? proto::RoundRecord() : records.back();
  }

  FakeClock clock_;
  VerifyKey verify_key_ = *VerifyKey::FromRaw(std::string(32, '\0'));
  std::unique_ptr<Federation> federation_;
};

// Finding 1: 0.9 * FLT_MAX with num_examples = 2 overflowed the aggregate of
// every weighted-mean strategy under the default configuration, and the run
// was dead. The default norm bound now refuses such an update.
TEST_F(HostileUpdateTest, DefaultLimitsRefuseAnOverflowingUpdateForEveryWeightedMeanStrategy) {
  for (NamedStrategy& s : WeightedMeanStrategies()) {
    SCOPED_TRACE(s.name);
    Start(FederationOptions(), s.make());
    absl::StatusOr<proto::UploadResponse> bad = Upload("attacker", {kHuge, 0, 0, 0}, 2);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr("norm"));
    ASSERT_TRUE(Upload("honest", {0.1f, 0.1f, 0.1f, 0.1f}, 10).ok());
    const proto::RoundRecord record = CloseRound();
    EXPECT_TRUE(record.succeeded()) << record.failure();
    EXPECT_EQ(record.rejected(), 1u);
    EXPECT_EQ(record.rejections().at("bounds"), 1u);
    EXPECT_TRUE(AllFinite(federation_->global_model().values));
    EXPECT_EQ(federation_->model_version(), 2u);
  }
}

// Defence in depth: with the limits switched off the overflow reaches the
// aggregate, and the round fails cleanly instead of publishing it; the next
// round succeeds with honest devices.
TEST_F(HostileUpdateTest, NonFiniteAggregateFailsTheRoundAndKeepsTheServedModel) {
  for (NamedStrategy& s : WeightedMeanStrategies()) {
    SCOPED_TRACE(s.name);
    FederationOptions options;
    options.limits = {.max_l2_norm = 0, .max_examples = 0};
    Start(options, s.make());
    const std::string served = federation_->signed_model();
    ASSERT_TRUE(Upload("attacker", {kHuge, 0, 0, 0}, 2).ok());
    ASSERT_TRUE(Upload("honest", {0.1f, 0.1f, 0.1f, 0.1f}, 1).ok());
    const proto::RoundRecord failed = CloseRound();
    EXPECT_FALSE(failed.succeeded());
    EXPECT_THAT(failed.failure(), HasSubstr("not finite"));
    EXPECT_EQ(federation_->model_version(), 1u);
    EXPECT_EQ(federation_->signed_model(), served);
    EXPECT_EQ(federation_->global_model().values, TinyModel().values);

    ASSERT_TRUE(Upload("attacker", {0.1f, 0.1f, 0.1f, 0.1f}, 1).ok());
    ASSERT_TRUE(Upload("honest", {0.1f, 0.1f, 0.1f, 0.1f}, 1).ok());
    EXPECT_TRUE(CloseRound().succeeded());
    EXPECT_EQ(federation_->model_version(), 2u);
    EXPECT_TRUE(AllFinite(federation_->global_model().values));
  }
}

// A finite aggregate whose server step overflows is rolled back too: the
// model and the strategy's state stay as they were.
TEST_F(HostileUpdateTest, NonFiniteServerStepIsRolledBack) {
  FederationOptions options;
  options.limits = {.max_l2_norm = 0, .max_examples = 0};
  Start(options, std::make_unique<FedAvg>(FedAvgOptions{.server_learning_rate = 4}));
  ASSERT_TRUE(Upload("attacker", {kHuge, 0, 0, 0}, 1).ok());
  ASSERT_TRUE(Upload("honest", {0, 0, 0, 0}, 1).ok());  // the mean, kHuge / 2, is finite
  const proto::RoundRecord failed = CloseRound();
  EXPECT_FALSE(failed.succeeded());
  EXPECT_THAT(failed.failure(), HasSubstr("server step produced non-finite weights"));
  EXPECT_EQ(federation_->global_model().values, TinyModel().values);
}

// Every other strategy keeps the served model finite under the same attack.
TEST_F(HostileUpdateTest, RobustStrategiesStayFinite) {
  std::vector<NamedStrategy> robust = {
      {"median", [] { return std::make_unique<CoordinateMedian>(); }},
      {"trimmed_mean", [] { return std::make_unique<TrimmedMean>(); }},
      {"krum", [] { return std::make_unique<Krum>(KrumOptions{.num_byzantine = 0}); }}};
  for (NamedStrategy& s : robust) {
    SCOPED_TRACE(s.name);
    FederationOptions options;
    options.limits = {.max_l2_norm = 0, .max_examples = 0};
    Start(options, s.make());
    (void)Upload("attacker", {kHuge, kHuge, -kHuge, kHuge}, 2);
    (void)Upload("honest", {0.1f, 0.1f, 0.1f, 0.1f}, 1);
    CloseRound();
    EXPECT_TRUE(AllFinite(federation_->global_model().values));
  }
}

// Finding 2: metrics were neither validated nor filtered, and went for good
// into every later signed model header (one update grew it from 316 B to
// 61 kB).
TEST_F(HostileUpdateTest, GarbageMetricsAreRefusedAndNeverReachTheModelHeader) {
  Start(FederationOptions(), std::make_unique<FedAvg>());
  const std::vector<std::function<void(proto::EncodedUpdate&)>> garbage = {
      [](proto::EncodedUpdate& u) { (*u.mutable_metrics())["train_loss"] = std::nan(""); },
      [](proto::EncodedUpdate& u) { (*u.mutable_metrics())["train_loss"] = -INFINITY; },
      [](proto::EncodedUpdate& u) { (*u.mutable_metrics())["train_loss"] = 1e300; },
      [](proto::EncodedUpdate& u) { (*u.mutable_metrics())[std::string(60000, 'k')] = 1; },
      [](proto::EncodedUpdate& u) {
        for (int i = 0; i < 1000; ++i) (*u.mutable_metrics())[absl::StrCat("m", i)] = i;
      }};
  for (size_t i = 0; i < garbage.size(); ++i) {
    // A rejected upload is final for its task: each attempt needs a round.
    absl::StatusOr<proto::UploadResponse> bad = Upload("attacker", {0.1f, 0, 0, 0}, 1, garbage[i]);
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << i;
    EXPECT_THAT(std::string(bad.status().message()), HasSubstr("metric")) << i;
    ASSERT_TRUE(Upload("honest", {0.1f, 0, 0, 0}, 1).ok());
    ASSERT_TRUE(CloseRound().succeeded());
  }
  absl::StatusOr<proto::ArtifactBody> body = OpenArtifact(federation_->signed_model(), verify_key_);
  ASSERT_TRUE(body.ok()) << body.status();
  for (const auto& [k, v] : body->header().metrics()) {
    EXPECT_TRUE(std::isfinite(v)) << k;
    EXPECT_LT(k.size(), 64u) << k;
  }
  EXPECT_LT(body->header().ByteSizeLong(), 1024u);
}

// Finding 3: num_examples = 2^64 - 1 made one device the whole weighted
// mean. A device cannot claim more examples than its task asked for.
TEST_F(HostileUpdateTest, ClaimedExamplesAreCappedByTheTask) {
  FederationOptions options;
  options.train.set_max_examples(100);
  Start(options, std::make_unique<FedAvg>());
  ASSERT_TRUE(Upload("attacker", {-1, -1, -1, -1}, std::numeric_limits<uint64_t>::max()).ok());
  ASSERT_TRUE(Upload("honest", {1, 1, 1, 1}, 100).ok());
  ASSERT_TRUE(CloseRound().succeeded());
  for (float v : federation_->global_model().values) EXPECT_FLOAT_EQ(v, 0.0f);
}

TEST_F(HostileUpdateTest, DefaultExampleCapBoundsAnyClaim) {
  Start(FederationOptions(), std::make_unique<FedAvg>());
  ASSERT_TRUE(Upload("attacker", {-1, -1, -1, -1}, std::numeric_limits<uint64_t>::max()).ok());
  ASSERT_TRUE(Upload("honest", {1, 1, 1, 1}, UpdateLimits().max_examples).ok());
  ASSERT_TRUE(CloseRound().succeeded());
  for (float v : federation_->global_model().values) EXPECT_FLOAT_EQ(v, 0.0f);
}

TEST_F(HostileUpdateTest, GarbageReportsAreRefused) {
  Start(FederationOptions(), std::make_unique<FedAvg>());
  const std::vector<std::function<void(proto::DeviceReport&)>> garbage = {
      [](proto::DeviceReport& r) { (*r.mutable_metrics())["latency"] = std::nan(""); },
      [](proto::DeviceReport& r) { (*r.mutable_metrics())[std::string(1000, 'x')] = 1; },
      [](proto::DeviceReport& r) { (*r.mutable_metrics())["bad name"] = 1; },
      [](proto::DeviceReport& r) {
        for (int i = 0; i < 100; ++i) (*r.mutable_metrics())[absl::StrCat("m", i)] = i;
      },
      [](proto::DeviceReport& r) { r.add_alarms()->set_detector(std::string(10000, 'd')); },
      [](proto::DeviceReport& r) {
        proto::DriftAlarm* a = r.add_alarms();
        a->set_detector("adwin");
        a->set_statistic(INFINITY);
      },
      [](proto::DeviceReport& r) { r.set_epsilon_spent(std::nan("")); },
      [](proto::DeviceReport& r) { r.set_epsilon_spent(-1); }};
  for (size_t i = 0; i < garbage.size(); ++i) {
    proto::DeviceReport report;
    report.set_device_id("attacker");
    garbage[i](report);
    EXPECT_EQ(federation_->Report(report).status().code(), absl::StatusCode::kInvalidArgument) << i;
  }
  proto::DeviceReport fine;
  fine.set_device_id("honest");
  (*fine.mutable_metrics())["update_bytes"] = 1234;
  fine.set_epsilon_spent(1.5);
  EXPECT_TRUE(federation_->Report(fine).ok());
}

}  // namespace
}  // namespace fedge
