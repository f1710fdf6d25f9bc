#include "coordinator/coordinator_metrics.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

proto::DeviceSummary Device(const std::string& id, absl::Time last_seen, bool eligible, uint64_t serving,
                            double epsilon) {
  proto::DeviceSummary d;
  d.set_device_id(id);
  d.set_last_seen_unix_micros(absl::ToUnixMicros(last_seen));
  d.set_eligible(eligible);
  d.set_inference_model_version(serving);
  d.set_epsilon_spent(epsilon);
  return d;
}

class CoordinatorMetricsTest : public ::testing::Test {
 protected:
  CoordinatorMetricsTest()
      : clock_(absl::FromUnixSeconds(1'800'000'000)),
        metrics_(&registry_, {.offline_after = absl::Minutes(10)}, [this] { return status_; }, &clock_) {}

  metrics::Registry registry_;
  FakeClock clock_;
  proto::StatusResponse status_;
  CoordinatorMetrics metrics_;
};

TEST_F(CoordinatorMetricsTest, CountsRoundsUpdatesAndBytesFromRecords) {
  proto::RoundRecord r;
  r.set_succeeded(true);
  r.set_accepted(8);
  r.set_rejected(3);
  (*r.mutable_rejections())["bounds"] = 2;
  (*r.mutable_rejections())["corrupt"] = 1;
  r.set_late(1);
  r.set_bytes_down(1000);
  r.set_bytes_up(500);
  r.set_drift_alarms(2);
  r.set_started_unix_micros(10'000'000);
  r.set_closed_unix_micros(17'000'000);
  (*r.mutable_metrics())["test_accuracy"] = 0.875;
  (*r.mutable_metrics())["train_loss"] = 0.4;  // a device average: not a global metric
  metrics_.ObserveRound(r);
  proto::RoundRecord failed;
  failed.set_succeeded(false);
  metrics_.ObserveRound(failed);

  const std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("fedge_rounds_total{outcome=\"succeeded\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_rounds_total{outcome=\"failed\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_round_duration_seconds_bucket{outcome=\"succeeded\",le=\"5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fedge_round_duration_seconds_bucket{outcome=\"succeeded\",le=\"10\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_updates_accepted_total 8\n"));
  EXPECT_THAT(text, HasSubstr("fedge_updates_rejected_total{reason=\"bounds\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_updates_rejected_total{reason=\"corrupt\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_updates_late_total 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_transfer_bytes_total{direction=\"down\"} 1000\n"));
  EXPECT_THAT(text, HasSubstr("fedge_drift_alarms_total 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_global_metric{name=\"test_accuracy\"} 0.875\n"));
  EXPECT_THAT(text, Not(HasSubstr("train_loss")));
}

TEST_F(CoordinatorMetricsTest, GaugesComeFromTheStatusAtScrapeTime) {
  const absl::Time now = clock_.Now();
  status_.set_current_round(4);
  status_.set_model_version(4);
  status_.set_deployed_model_version(2);
  *status_.add_devices() = Device("a", now - absl::Seconds(5), true, 2, 1.5);
  *status_.add_devices() = Device("b", now - absl::Seconds(5), false, 2, 0.5);
  *status_.add_devices() = Device("c", now - absl::Minutes(30), true, 1, 0);
  status_.mutable_devices(0)->set_training_model_version(4);
  status_.mutable_devices(1)->set_training_model_version(3);
  proto::DeviceSummary revoked = Device("r", now, true, 1, 0);
  revoked.set_status(proto::DEVICE_STATUS_REVOKED);
  *status_.add_devices() = revoked;
  proto::DeviceSummary pending = Device("p", now, true, 0, 0);
  pending.set_status(proto::DEVICE_STATUS_PENDING);
  *status_.add_devices() = pending;
  status_.add_drift()->set_drifting(true);
  std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("fedge_round_current 4\n"));
  EXPECT_THAT(text, HasSubstr("fedge_deployed_model_version 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices{status=\"active\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices{status=\"ineligible\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices{status=\"offline\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices{status=\"pending\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices{status=\"revoked\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_serving{version=\"2\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_serving{version=\"1\"} 1\n"));  // not the revoked one
  EXPECT_THAT(text, HasSubstr("fedge_devices_training{version=\"4\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_training{version=\"3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_training{version=\"0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_drifting 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_device_epsilon{stat=\"max\"} 1.5\n"));
  EXPECT_THAT(text, HasSubstr("fedge_device_epsilon{stat=\"median\"} 1.5\n"));  // of the two that spent any
  EXPECT_THAT(text, HasSubstr("fedge_device_epsilon_budget 0\n"));

  // Everyone moved to version 3: the old versions read 0, not their last count.
  status_.clear_devices();
  *status_.add_devices() = Device("a", now, true, 3, 1.5);
  text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("fedge_devices_serving{version=\"2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_serving{version=\"3\"} 1\n"));
}

TEST(CoordinatorMetricsRolloutTest, StateStageAndAbortsCountedOnce) {
  metrics::Registry registry;
  FakeClock clock;
  proto::RolloutStatus rollout;
  CoordinatorMetrics metrics(&registry, {.rollout = [&] { return rollout; }}, [] { return proto::StatusResponse(); },
                             &clock);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("fedge_rollout_state{state=\"none\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_rollout_stage 0\n"));
  EXPECT_THAT(text, HasSubstr("fedge_rollouts_aborted_total 0\n"));
  rollout.set_state(proto::ROLLOUT_RUNNING);
  rollout.set_version(3);
  rollout.set_stage(1);
  text = registry.Render();
  EXPECT_THAT(text, HasSubstr("fedge_rollout_state{state=\"running\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fedge_rollout_state{state=\"none\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fedge_rollout_stage 2\n"));
  EXPECT_THAT(text, HasSubstr("fedge_rollout_version 3\n"));
  rollout.set_state(proto::ROLLOUT_ABORTED);
  registry.Render();
  text = registry.Render();  // a second scrape of the same abort
  EXPECT_THAT(text, HasSubstr("fedge_rollouts_aborted_total 1\n"));
}

}  // namespace
}  // namespace fedge
