// Secure aggregation wired into the round (issue 20, phase 2): a real
// Federation and real Device agents (with a trainer whose delta is known)
// run the four SecAgg stages in-process, the way fedge-sim drives them:
// every device's exchange is stepped in turn, and when nobody can move the
// coordinator's clock jumps to the stage's deadline.
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "aggregation/coordinate_median.h"
#include "aggregation/fedavg.h"
#include "client/device.h"
#include "client/testing/device_fakes.h"
#include "coordinator/federation.h"
#include "core/env.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

constexpr double kClipNorm = 10;
constexpr absl::Duration kStageTimeout = absl::Seconds(30);

FederationOptions SecAggOptionsFor(int devices) {
  FederationOptions options;
  options.architecture = "tiny";
  options.devices_per_round = devices;
  options.over_selection = 1;
  options.max_rounds = 3;
  options.train.set_update_clip_norm(kClipNorm);
  options.secagg = {.enabled = true, .neighbours = 4, .threshold = 3, .stage_timeout = kStageTimeout,
                    .coordinate_range = 1};
  return options;
}

// The scale a round's devices quantize with (coordinate_range * clip /
// sqrt(d) / max_code, coordinator/secagg_round.h): max_code 7 for int4 codes.
double SharedScale(const FederationOptions& o) {
  const double max_code = o.train.codec() == "int4" ? 7.0 : 127.0;
  return o.secagg.coordinate_range * kClipNorm / std::sqrt(static_cast<double>(TestModel().values.size())) / max_code;
}

class SecAggFederationTest : public ::testing::Test {
 protected:
  void Start(int devices, FederationOptions options, std::unique_ptr<Strategy> strategy = nullptr) {
    options.dp_random = &graph_random_;  // reproducible neighbour graphs
    options_ = options;
    auto key = SigningKey::Generate();
    ASSERT_TRUE(key.ok());
    const VerifyKey verify_key = key->verify_key();
    if (strategy == nullptr) strategy = std::make_unique<FedAvg>();
    auto federation = Federation::Create(options, std::move(strategy), TestModel(), *std::move(key), &clock_,
                                         /*evaluator=*/nullptr);
    ASSERT_TRUE(federation.ok()) << federation.status();
    federation_ = *std::move(federation);
    for (int i = 0; i < devices; ++i) {
      auto trainer = std::make_unique<FakeTrainer>();
      trainer->step = 0.02f * static_cast<float>(i + 1);  // device i moves every weight by this
      DeviceOptions o;
      o.device_id = absl::StrCat("device-", i);
      o.seed = 100 + i;
      o.retry.max_attempts = 1;
      auto device = Device::Create(o, federation_.get(), &clock_, trainer.get(), verify_key);
      ASSERT_TRUE(device.ok()) << device.status();
      ASSERT_TRUE((*device)->Register().ok());
      trainers_.push_back(std::move(trainer));
      devices_.push_back(*std::move(device));
    }
    federation_->Tick();  // opens round 1
  }

  // Runs the open round with the devices in `offline` never taking their
  // task; the device in `quits_after_stage` (index -> stage) stops
  // answering once it has reached that stage. Returns the closed record.
  proto::RoundRecord RunRound(const std::set<int>& offline, std::map<int, int> quits_after_stage = {}) {
    std::vector<std::pair<int, StepResult>> steps;
    for (int i = 0; i < static_cast<int>(devices_.size()); ++i) {
      if (offline.contains(i)) continue;
      absl::StatusOr<StepResult> step = devices_[i]->PrepareStep();
      EXPECT_TRUE(step.ok()) << step.status();
      if (!step.ok() || !step->had_task) continue;
      EXPECT_TRUE(step->secure_aggregation);
      steps.emplace_back(i, *std::move(step));
    }
    std::vector<proto::RoundRecord> closed;
    for (int pass = 0; pass < 100 && !steps.empty(); ++pass) {
      bool moved = false;
      std::vector<std::pair<int, StepResult>> waiting;
      for (auto& [i, step] : steps) {
        auto quit = quits_after_stage.find(i);
        if (quit != quits_after_stage.end() && step.secagg_stage >= quit->second) continue;  // gone silent
        const int before = step.secagg_stage;
        step = devices_[i]->FinishStep(std::move(step));
        outcomes_[i] = step.task_status;
        if (step.waiting) {
          moved = moved || step.secagg_stage != before;
          waiting.emplace_back(i, std::move(step));
        } else {
          moved = true;
        }
      }
      steps.swap(waiting);
      if (!moved && !steps.empty()) {
        clock_.Advance(kStageTimeout);
        for (proto::RoundRecord& r : federation_->Tick()) closed.push_back(std::move(r));
      }
    }
    EXPECT_TRUE(steps.empty()) << "devices still waiting after 100 passes";
    for (proto::RoundRecord& r : federation_->Tick()) closed.push_back(std::move(r));
    EXPECT_EQ(closed.size(), 1u);
    return closed.empty() ? proto::RoundRecord() : closed[0];
  }

  // Each weight moved by the mean step of `contributors`, within the
  // quantization error (every code is off by less than one step).
  void ExpectMovedByMeanOf(const ModelParams& before, const std::vector<int>& contributors) {
    double mean = 0;
    for (int i : contributors) mean += trainers_[i]->step;
    mean /= static_cast<double>(contributors.size());
    const ModelParams after = federation_->global_model();
    const double scale = SharedScale(options_);
    for (size_t j = 0; j < after.values.size(); ++j) {
      EXPECT_NEAR(after.values[j] - before.values[j], mean, scale) << "weight " << j;
    }
  }

  FakeClock clock_;
  DeterministicRandom graph_random_{7};
  FederationOptions options_;
  std::unique_ptr<Federation> federation_;
  std::vector<std::unique_ptr<FakeTrainer>> trainers_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::map<int, absl::Status> outcomes_;
};

TEST_F(SecAggFederationTest, TheRoundsAggregateIsTheMeanOfTheMaskedUpdates) {
  Start(8, SecAggOptionsFor(8));
  const ModelParams before = federation_->global_model();
  const proto::RoundRecord record = RunRound({});
  ASSERT_TRUE(record.succeeded()) << record.failure();
  EXPECT_EQ(record.accepted(), 8u);
  ExpectMovedByMeanOf(before, {0, 1, 2, 3, 4, 5, 6, 7});
  for (const auto& [i, status] : outcomes_) EXPECT_TRUE(status.ok()) << "device " << i << ": " << status;
  // The costs are in the record.
  const auto& m = record.metrics();
  EXPECT_EQ(m.at("secagg_clients"), 8);
  EXPECT_EQ(m.at("secagg_contributors"), 8);
  EXPECT_EQ(m.at("secagg_stages_closed"), 4);
  EXPECT_GT(m.at("secagg_stage2_bytes_in"), 8 * 36);  // eight masked vectors of 36 elements
  EXPECT_GT(m.at("secagg_cpu_ms"), 0);
  EXPECT_GT(record.bytes_up(), 0u);
  // Nothing was uploaded in the clear.
  EXPECT_EQ(record.rejected(), 0u);
}

TEST_F(SecAggFederationTest, DevicesDroppingAtEachStageLeaveTheMeanOfTheSurvivors) {
  FederationOptions options = SecAggOptionsFor(10);
  options.secagg.neighbours = 8;
  options.secagg.threshold = 5;
  Start(10, options);
  const ModelParams before = federation_->global_model();
  // Device 9 never takes its task (stage 0); 8 shares its keys and goes
  // silent before its masked input (stage 2): its pairwise masks are removed
  // with its neighbours' shares of its mask key; 6 goes silent after its
  // masked input (stage 3): its input counts, its self-mask is rebuilt.
  const proto::RoundRecord record = RunRound({9}, {{8, 1}, {6, 2}});
  ASSERT_TRUE(record.succeeded()) << record.failure();
  EXPECT_EQ(record.accepted(), 8u);
  EXPECT_EQ(record.metrics().at("secagg_contributors"), 8);
  ExpectMovedByMeanOf(before, {0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_F(SecAggFederationTest, TooFewSurvivorsFailTheRoundAndLeaveTheModelUnchanged) {
  Start(6, SecAggOptionsFor(6));
  const ModelParams before = federation_->global_model();
  const uint64_t version = federation_->model_version();
  const proto::RoundRecord record = RunRound({2, 3, 4, 5});  // 2 of 6 advertise: fewer than t = 3
  EXPECT_FALSE(record.succeeded());
  EXPECT_NE(record.failure().find("secure aggregation failed"), std::string::npos) << record.failure();
  EXPECT_EQ(record.accepted(), 0u);
  EXPECT_EQ(federation_->model_version(), version);
  EXPECT_EQ(federation_->global_model().values, before.values);
  for (const auto& [i, status] : outcomes_) EXPECT_TRUE(absl::IsFailedPrecondition(status)) << i << ": " << status;
  // The next round runs normally.
  const proto::RoundRecord next = RunRound({});
  EXPECT_TRUE(next.succeeded()) << next.failure();
}

TEST_F(SecAggFederationTest, PlainUploadsAreRefused) {
  Start(3, SecAggOptionsFor(3));
  proto::UploadRequest upload;
  upload.set_device_id("device-0");
  upload.set_task_id("anything");
  upload.set_data("x");
  upload.set_total_size(1);
  upload.set_final(true);
  absl::StatusOr<proto::UploadResponse> refused = federation_->Upload(upload);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
}

TEST_F(SecAggFederationTest, AStrangerIsRefused) {
  Start(3, SecAggOptionsFor(3));
  proto::PollTaskRequest poll;
  poll.set_device_id("device-0");
  poll.set_eligible(true);
  absl::StatusOr<proto::PollTaskResponse> polled = federation_->PollTask(poll);
  ASSERT_TRUE(polled.ok() && polled->has_task()) << polled.status();
  EXPECT_TRUE(polled->task().has_secagg());
  EXPECT_EQ(polled->task().secagg().num_clients(), 3u);
  EXPECT_GT(polled->task().secagg().scale(), 0);
  proto::SecAggRequest request;
  request.set_device_id("device-1");  // registered, but the task is device-0's
  request.set_task_id(polled->task().task_id());
  request.set_stage(0);
  request.set_message("garbage");
  EXPECT_TRUE(absl::IsPermissionDenied(federation_->SecAgg(request).status()));
  request.set_device_id("device-0");  // its own task, a malformed message
  EXPECT_TRUE(absl::IsInvalidArgument(federation_->SecAgg(request).status()));
  request.set_task_id("not-a-task");
  EXPECT_TRUE(absl::IsFailedPrecondition(federation_->SecAgg(request).status()));
  request.set_device_id("nobody");
  EXPECT_TRUE(absl::IsNotFound(federation_->SecAgg(request).status()));
}

TEST_F(SecAggFederationTest, ClientDpNoiseIsAddedByTheDevicesAndAccounted) {
  FederationOptions options = SecAggOptionsFor(6);
  options.min_quorum = 4;
  options.client_dp = ClientDpOptions{.clip_norm = kClipNorm, .noise_multiplier = 0.5, .device_sampling_rate = 1};
  Start(6, options);
  proto::PollTaskRequest poll;
  poll.set_device_id("device-0");
  poll.set_eligible(true);
  absl::StatusOr<proto::PollTaskResponse> polled = federation_->PollTask(poll);
  ASSERT_TRUE(polled.ok() && polled->has_task()) << polled.status();
  // Each device's share: z * S / sqrt(min_quorum).
  EXPECT_DOUBLE_EQ(polled->task().secagg().noise_stddev(), 0.5 * kClipNorm / 2);
  EXPECT_EQ(polled->task().train().update_clip_norm(), kClipNorm);
  const ModelParams before = federation_->global_model();
  const proto::RoundRecord record = RunRound({});
  ASSERT_TRUE(record.succeeded()) << record.failure();
  EXPECT_GT(record.metrics().at("client_epsilon"), 0);
  // The noise moved the weights away from the noiseless mean (0.07 per
  // weight): its standard deviation on the mean is 0.5 * 10 * sqrt(6/4) / 6.
  const ModelParams after = federation_->global_model();
  double spread = 0;
  for (size_t j = 0; j < after.values.size(); ++j) {
    spread += std::abs(after.values[j] - before.values[j] - 0.07 * 6 / 6);
  }
  EXPECT_GT(spread / after.values.size(), 0.2);
}

TEST_F(SecAggFederationTest, Int4CodecRunsTheRoundOnFourBitCodes) {
  FederationOptions options = SecAggOptionsFor(8);
  options.train.set_codec("int4");
  Start(8, options);
  const ModelParams before = federation_->global_model();
  const proto::RoundRecord record = RunRound({});
  ASSERT_TRUE(record.succeeded()) << record.failure();
  EXPECT_EQ(record.accepted(), 8u);
  EXPECT_EQ(record.metrics().at("secagg_code_bits"), 4);
  EXPECT_EQ(record.metrics().at("secagg_ring_bits"), 4 + 3);  // 4 + ceil(log2 8)
  ExpectMovedByMeanOf(before, {0, 1, 2, 3, 4, 5, 6, 7});
  // Four-bit codes in a 7-bit ring: each masked vector is 36 elements of 7 bits.
  EXPECT_GT(record.metrics().at("secagg_stage2_bytes_in"), 8 * (16 + 36 * 7 / 8));
  EXPECT_LT(record.metrics().at("secagg_stage2_bytes_in"), 8 * (16 + 36 * 11 / 8));
}

TEST_F(SecAggFederationTest, Int4DevicesDroppingAtEachStageLeaveTheMeanOfTheSurvivors) {
  FederationOptions options = SecAggOptionsFor(10);
  options.train.set_codec("int4:64");  // the block size plays no part on the shared scale
  options.secagg.neighbours = 8;
  options.secagg.threshold = 5;
  Start(10, options);
  const ModelParams before = federation_->global_model();
  const proto::RoundRecord record = RunRound({9}, {{8, 1}, {6, 2}});
  ASSERT_TRUE(record.succeeded()) << record.failure();
  EXPECT_EQ(record.accepted(), 8u);
  EXPECT_EQ(record.metrics().at("secagg_code_bits"), 4);
  options_.train.set_codec("int4");  // for SharedScale
  ExpectMovedByMeanOf(before, {0, 1, 2, 3, 4, 5, 6, 7});
}

TEST(SecAggFederationOptionsTest, TheCodecChoosesTheCodeWidth) {
  for (const char* codec : {"", "fp32", "int8", "int8:128", "int4", "int4:64"}) {
    FederationOptions options = SecAggOptionsFor(4);
    options.train.set_codec(codec);
    EXPECT_TRUE(ValidateFederationOptions(options).ok()) << codec;
  }
  for (const char* codec : {"fp16", "sign", "topk:0.1>int4", "int8>zstd", "int4>zstd:3"}) {
    FederationOptions options = SecAggOptionsFor(4);
    options.train.set_codec(codec);
    const absl::Status refused = ValidateFederationOptions(options);
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << codec << ": " << refused;
    EXPECT_NE(refused.message().find("\"int4\""), absl::string_view::npos) << refused;
  }
}

TEST(SecAggFederationOptionsTest, RefusesWhatCannotWork) {
  FederationOptions options = SecAggOptionsFor(4);
  options.secagg.neighbours = 5;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateFederationOptions(options)));
  options = SecAggOptionsFor(4);
  options.secagg.threshold = 2;  // not above k / 2
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateFederationOptions(options)));
  options = SecAggOptionsFor(4);
  options.train.set_update_clip_norm(0);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateFederationOptions(options)));
  auto key = SigningKey::Generate();
  ASSERT_TRUE(key.ok());
  FakeClock clock;
  auto median = Federation::Create(SecAggOptionsFor(4), std::make_unique<CoordinateMedian>(), TestModel(),
                                   *std::move(key), &clock, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(median.status())) << median.status();
}

}  // namespace
}  // namespace fedge
