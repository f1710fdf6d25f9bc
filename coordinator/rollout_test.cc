#include "coordinator/rollout.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> Fleet(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("device-", i));
  return ids;
}

RolloutOptions ThreeStages() {
  RolloutOptions o;
  o.enabled = true;
  o.stages = {{.fraction = 0.1, .min_devices = 2, .soak = absl::Seconds(10)},
              {.fraction = 0.5, .min_devices = 30, .soak = absl::Seconds(10)},
              {.fraction = 1.0, .min_devices = 0, .soak = absl::ZeroDuration()}};
  o.max_failure_share = 0.3;
  o.min_accuracy = 0.5;
  return o;
}

RolloutSample Healthy(uint64_t version) {
  RolloutSample s;
  s.serving = version;
  s.health.set_version(version);
  s.health.set_outcome(proto::MODEL_HEALTH_OK);
  return s;
}

RolloutSample Failed(uint64_t version, uint64_t serving) {
  RolloutSample s;
  s.serving = serving;
  s.health.set_version(version);
  s.health.set_outcome(proto::MODEL_HEALTH_CHECK_FAILED);
  s.health.set_detail("accuracy 0.1");
  return s;
}

class RolloutTest : public ::testing::Test {
 protected:
  // Every device the rollout tells `version` reports `sample`.
  void ReportAll(Rollout& r, const RolloutSample& sample) {
    for (const std::string& id : fleet_) {
      if (r.VersionFor(id) == sample.health.version()) r.Observe(id, sample);
    }
  }
  int Told(const Rollout& r, uint64_t version) const {
    int n = 0;
    for (const std::string& id : fleet_) n += r.VersionFor(id) == version;
    return n;
  }

  std::vector<std::string> fleet_ = Fleet(100);
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);  // the injected clock
};

TEST(RolloutHashTest, IsStableAndSpread) {
  EXPECT_EQ(RolloutHash("device-7"), RolloutHash("device-7"));
  int low = 0;
  for (const std::string& id : Fleet(1000)) {
    const double h = RolloutHash(id);
    ASSERT_GE(h, 0);
    ASSERT_LT(h, 1);
    low += h < 0.5;
  }
  EXPECT_GT(low, 430);
  EXPECT_LT(low, 570);
}

TEST(RolloutOptionsTest, RefusesBadStages) {
  RolloutOptions o = ThreeStages();
  EXPECT_TRUE(ValidateRolloutOptions(o).ok());
  o.stages.back().fraction = 0.9;
  EXPECT_THAT(ValidateRolloutOptions(o).message(), HasSubstr("last stage"));
  o = ThreeStages();
  o.stages[1].fraction = 0.05;
  EXPECT_THAT(ValidateRolloutOptions(o).message(), HasSubstr("must not decrease"));
  o = ThreeStages();
  o.max_failure_share = 1;
  EXPECT_THAT(ValidateRolloutOptions(o).message(), HasSubstr("max_failure_share"));
  EXPECT_TRUE(ValidateRolloutOptions(RolloutOptions{}).ok());  // the defaults
}

TEST_F(RolloutTest, HealthyRolloutAdvancesAfterSoakAndCompletes) {
  Rollout r(ThreeStages());
  r.Start(2, 1, 0, fleet_, now_);
  const int canary = Told(r, 2);
  EXPECT_GE(canary, 2);   // at least min_devices
  EXPECT_LE(canary, 20);  // about 10%
  EXPECT_EQ(Told(r, 1), 100 - canary);  // the others keep the previous version

  ReportAll(r, Healthy(2));
  EXPECT_EQ(r.Evaluate(fleet_, now_ + absl::Seconds(5)), std::nullopt);  // still soaking
  std::optional<std::string> advanced = r.Evaluate(fleet_, now_ + absl::Seconds(10));
  ASSERT_TRUE(advanced.has_value());
  EXPECT_THAT(*advanced, HasSubstr("stage 2/3"));
  EXPECT_EQ(r.Status().stage(), 1u);
  EXPECT_GT(Told(r, 2), 30);

  // The canary's healthy reports are fewer than the new stage's minimum: it holds.
  EXPECT_EQ(r.Evaluate(fleet_, now_ + absl::Seconds(30)), std::nullopt);
  ReportAll(r, Healthy(2));
  ASSERT_TRUE(r.Evaluate(fleet_, now_ + absl::Seconds(30)).has_value());
  EXPECT_EQ(r.Status().stage(), 2u);
  EXPECT_EQ(Told(r, 2), 100);
  ReportAll(r, Healthy(2));
  EXPECT_THAT(r.Evaluate(fleet_, now_ + absl::Seconds(31)).value_or(""), HasSubstr("completed"));
  EXPECT_EQ(r.Status().state(), proto::ROLLOUT_COMPLETED);
  EXPECT_FALSE(r.active());
  EXPECT_EQ(r.stable_version(), 2u);
}

TEST_F(RolloutTest, FailingCanaryAbortsAndEveryDeviceReturnsToThePreviousVersion) {
  Rollout r(ThreeStages());
  r.Start(2, 1, 0, fleet_, now_);
  const int canary = Told(r, 2);
  ReportAll(r, Failed(2, 1));
  std::optional<std::string> aborted = r.Evaluate(fleet_, now_ + absl::Seconds(1));
  ASSERT_TRUE(aborted.has_value());
  EXPECT_THAT(*aborted, HasSubstr("aborted"));
  EXPECT_THAT(r.Status().reason(), HasSubstr("health check failed"));
  EXPECT_EQ(r.Status().failed(), static_cast<uint32_t>(canary));
  EXPECT_EQ(r.Status().state(), proto::ROLLOUT_ABORTED);
  EXPECT_EQ(Told(r, 1), 100);
  EXPECT_EQ(r.stable_version(), 1u);
}

TEST_F(RolloutTest, LowAccuracyAndInferenceErrorsCountAsFailures) {
  Rollout r(ThreeStages());
  r.Start(2, 1, 0, fleet_, now_);
  RolloutSample low = Healthy(2);
  low.health.set_has_accuracy(true);
  low.health.set_accuracy(0.2);
  ReportAll(r, low);
  ASSERT_TRUE(r.Evaluate(fleet_, now_).has_value());
  EXPECT_THAT(r.Status().reason(), HasSubstr("accuracy 0.200 < 0.500"));

  Rollout e(ThreeStages());
  e.Start(2, 1, 0, fleet_, now_);
  RolloutSample s = Healthy(2);
  s.inference_requests = 100;
  s.inference_errors = 0;
  ReportAll(e, s);  // the baseline: counters before this version
  s.inference_requests = 200;
  s.inference_errors = 50;
  ReportAll(e, s);
  ASSERT_TRUE(e.Evaluate(fleet_, now_).has_value());
  EXPECT_THAT(e.Status().reason(), HasSubstr("inference errors on 50.0% of 100 requests"));
}

TEST_F(RolloutTest, DriftAboveThePreRolloutLevelAborts) {
  Rollout r(ThreeStages());
  r.Start(2, 1, 0.1, fleet_, now_);
  RolloutSample s = Healthy(2);
  s.drift_alarm = true;
  ReportAll(r, s);
  ASSERT_TRUE(r.Evaluate(fleet_, now_).has_value());
  EXPECT_THAT(r.Status().reason(), HasSubstr("drift alarms"));
}

TEST_F(RolloutTest, FailuresBelowTheMinimumCountDoNotAbortYet) {
  RolloutOptions o = ThreeStages();
  o.stages[0].min_devices = 5;
  Rollout r(o);
  r.Start(2, 1, 0, fleet_, now_);
  for (const std::string& id : fleet_) {
    if (r.VersionFor(id) == 2) {
      r.Observe(id, Failed(2, 1));
      break;
    }
  }
  EXPECT_EQ(r.Evaluate(fleet_, now_), std::nullopt);
  EXPECT_EQ(r.Status().failed(), 1u);
  EXPECT_EQ(r.Status().state(), proto::ROLLOUT_RUNNING);
}

TEST_F(RolloutTest, OperatorControls) {
  Rollout r(ThreeStages());
  EXPECT_EQ(r.Control(proto::RolloutControlRequest::PAUSE, fleet_, now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  r.Start(2, 1, 0, fleet_, now_);
  ASSERT_TRUE(r.Control(proto::RolloutControlRequest::PAUSE, fleet_, now_).ok());
  ReportAll(r, Healthy(2));
  EXPECT_EQ(r.Evaluate(fleet_, now_ + absl::Hours(1)), std::nullopt);  // paused: holds
  EXPECT_EQ(r.Control(proto::RolloutControlRequest::PAUSE, fleet_, now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(r.Control(proto::RolloutControlRequest::RESUME, fleet_, now_).ok());
  ASSERT_TRUE(r.Control(proto::RolloutControlRequest::PROMOTE, fleet_, now_).ok());
  EXPECT_EQ(r.Status().stage(), 1u);
  ASSERT_TRUE(r.Control(proto::RolloutControlRequest::ROLLBACK, fleet_, now_).ok());
  EXPECT_EQ(Told(r, 1), 100);
  EXPECT_EQ(r.Control(proto::RolloutControlRequest::ROLLBACK, fleet_, now_).status().code(),
            absl::StatusCode::kFailedPrecondition);

  Rollout first(ThreeStages());
  first.Start(1, 0, 0, fleet_, now_);
  EXPECT_THAT(first.Control(proto::RolloutControlRequest::ROLLBACK, fleet_, now_).status().message(),
              HasSubstr("no earlier deployed version"));
  EXPECT_EQ(first.Control(proto::RolloutControlRequest::ACTION_UNSPECIFIED, fleet_, now_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(RolloutTest, RestoresFromItsStoredRecord) {
  Rollout r(ThreeStages());
  r.Start(2, 1, 0, fleet_, now_);
  ReportAll(r, Healthy(2));
  ASSERT_TRUE(r.Evaluate(fleet_, now_ + absl::Seconds(10)).has_value());
  proto::StoredRollout stored = r.ToStored();

  Rollout resumed(ThreeStages());
  ASSERT_TRUE(resumed.Restore(stored).ok());
  EXPECT_TRUE(resumed.active());
  EXPECT_EQ(resumed.Status().stage(), 1u);
  EXPECT_EQ(resumed.Status().stages_size(), 3);
  for (const std::string& id : fleet_) EXPECT_EQ(resumed.VersionFor(id), r.VersionFor(id)) << id;

  stored.mutable_status()->set_state(static_cast<proto::RolloutState>(99));
  EXPECT_EQ(resumed.Restore(stored).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
