#include "client/drift/drift_monitor.h"

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "core/env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// A Page-Hinkley monitor that alarms on every second value of the stream
// 0, 10, 0, 10, ... (λ = 1, one-value minimum), so cool-downs and bounds can
// be exercised value by value.
DriftMonitorOptions TwitchyOptions() {
  DriftMonitorOptions options;
  options.detector = *ParseDetectorSpec("[page_hinkley]\ndelta = 0\nthreshold = 1.0\nalpha = 1.0\nmin_samples = 1");
  options.cooldown_samples = 0;
  return options;
}

// Feeds `n` values of the twitchy stream; returns how many signalled kDrift.
int FeedTwitchy(DriftMonitor& monitor, int n) {
  int drifts = 0;
  for (int i = 0; i < n; ++i) {
    if (monitor.ObserveLoss(i % 2 == 0 ? 0.0 : 10.0).state == DriftState::kDrift) ++drifts;
  }
  return drifts;
}

TEST(DriftMonitorTest, RecordsAlarmsWithClockTimeAndDetectorState) {
  FakeClock clock(absl::FromUnixSeconds(1'700'000'000));
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(TwitchyOptions(), &clock);
  EXPECT_EQ(FeedTwitchy(*monitor, 2), 1);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(FeedTwitchy(*monitor, 2), 1);

  absl::Span<const DriftAlarm> alarms = monitor->alarms();
  ASSERT_EQ(alarms.size(), 2u);
  EXPECT_EQ(alarms[0].detector, "page_hinkley");
  EXPECT_EQ(alarms[0].samples_seen, 2u);
  EXPECT_EQ(alarms[0].time, absl::FromUnixSeconds(1'700'000'000));
  EXPECT_GT(alarms[0].statistic, 1.0);
  EXPECT_EQ(alarms[1].samples_seen, 4u);
  EXPECT_EQ(alarms[1].time, absl::FromUnixSeconds(1'700'000'005));
}

TEST(DriftMonitorTest, DetectsALossIncreaseWithPaperDefaults) {
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create({}, &clock);
  for (int i = 0; i < 2000; ++i) monitor->ObserveLoss(0.2);
  for (int i = 0; i < 200; ++i) monitor->ObserveLoss(1.2);
  ASSERT_EQ(monitor->alarms().size(), 1u);
  EXPECT_GT(monitor->alarms()[0].samples_seen, 2000u);
  EXPECT_LE(monitor->alarms()[0].samples_seen, 2060u);
}

TEST(DriftMonitorTest, SampleCooldownSuppressesAlarmBursts) {
  DriftMonitorOptions options = TwitchyOptions();
  options.cooldown_samples = 10;
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(options, &clock);
  // Alarms at values 2, 12, 22 (10 apart); the 4 drifts between each pair are
  // suppressed and reported to the caller as kNone.
  EXPECT_EQ(FeedTwitchy(*monitor, 22), 3);
  EXPECT_EQ(monitor->alarms().size(), 3u);
  EXPECT_EQ(monitor->suppressed_alarms(), 8u);
  EXPECT_EQ(monitor->alarms()[1].samples_seen, 12u);
}

TEST(DriftMonitorTest, WarmupSuppressesAlarmsAfterEachStart) {
  DriftMonitorOptions options = TwitchyOptions();
  options.warmup_samples = 5;
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(options, &clock);
  // Drifts at values 2 and 4 fall in the warm-up; 6 and 8 alarm.
  EXPECT_EQ(FeedTwitchy(*monitor, 8), 2);
  EXPECT_EQ(monitor->suppressed_alarms(), 2u);
  EXPECT_EQ(monitor->alarms()[0].samples_seen, 6u);
  monitor->Reset();
  EXPECT_EQ(FeedTwitchy(*monitor, 4), 0);
}

TEST(DriftMonitorTest, TimeCooldownSuppressesAlarmsUntilItElapses) {
  DriftMonitorOptions options = TwitchyOptions();
  options.cooldown_time = absl::Minutes(1);
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(options, &clock);
  EXPECT_EQ(FeedTwitchy(*monitor, 20), 1);
  clock.Advance(absl::Seconds(59));
  EXPECT_EQ(FeedTwitchy(*monitor, 20), 0);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(FeedTwitchy(*monitor, 2), 1);
  EXPECT_EQ(monitor->alarms().size(), 2u);
}

TEST(DriftMonitorTest, KeepsTheNewestAlarmsWhenFull) {
  DriftMonitorOptions options = TwitchyOptions();
  options.max_alarms = 3;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(options, nullptr);
  EXPECT_EQ(FeedTwitchy(*monitor, 10), 5);
  ASSERT_EQ(monitor->alarms().size(), 3u);
  EXPECT_EQ(monitor->dropped_alarms(), 2u);
  EXPECT_EQ(monitor->alarms()[0].samples_seen, 6u);
  EXPECT_EQ(monitor->alarms()[2].samples_seen, 10u);
}

TEST(DriftMonitorTest, TakeAlarmsEmptiesTheList) {
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(TwitchyOptions(), &clock);
  FeedTwitchy(*monitor, 4);
  std::vector<DriftAlarm> taken = monitor->TakeAlarms();
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_TRUE(monitor->alarms().empty());
  FeedTwitchy(*monitor, 2);
  EXPECT_EQ(monitor->TakeAlarms().size(), 1u);
}

TEST(DriftMonitorTest, ConfidenceIsFedAsOneMinusConfidence) {
  DriftMonitorOptions options = TwitchyOptions();
  options.detector =
      *ParseDetectorSpec("[page_hinkley]\ndelta = 0\nthreshold = 0.4\nalpha = 1.0\nmin_samples = 1");
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(options, &clock);
  // Confidence falling from 1 to 0 is a rise of 1 − confidence: an alarm.
  monitor->ObserveConfidence(1.0);
  EXPECT_EQ(monitor->ObserveConfidence(0.0).state, DriftState::kDrift);
  // Confidence rising is not.
  std::unique_ptr<DriftMonitor> rising = *DriftMonitor::Create(options, &clock);
  rising->ObserveConfidence(0.0);
  EXPECT_EQ(rising->ObserveConfidence(1.0).state, DriftState::kNone);
}

TEST(DriftMonitorTest, ResetRestartsTheDetectorButKeepsAlarms) {
  DriftMonitorOptions options = TwitchyOptions();
  options.cooldown_samples = 1000;
  FakeClock clock;
  std::unique_ptr<DriftMonitor> monitor = *DriftMonitor::Create(options, &clock);
  FeedTwitchy(*monitor, 10);
  EXPECT_EQ(monitor->alarms().size(), 1u);
  monitor->Reset();
  EXPECT_EQ(monitor->detector().samples_seen(), 0u);
  // The cool-down restarts with the new model, so the next drift alarms.
  EXPECT_EQ(FeedTwitchy(*monitor, 2), 1);
  ASSERT_EQ(monitor->alarms().size(), 2u);
  EXPECT_EQ(monitor->alarms()[1].samples_seen, 2u);
}

TEST(DriftMonitorTest, ConvertsAlarmsToTheWireMessage) {
  const DriftAlarm alarm{"adwin", 0.25, absl::FromUnixMicros(1'700'000'000'123'456), 4096};
  const proto::DriftAlarm wire = DriftAlarmToProto(alarm);
  EXPECT_EQ(wire.detector(), "adwin");
  EXPECT_DOUBLE_EQ(wire.statistic(), 0.25);
  EXPECT_EQ(wire.unix_micros(), 1'700'000'000'123'456);
  EXPECT_EQ(wire.samples_seen(), 4096u);
}

TEST(DriftMonitorTest, RejectsInvalidOptions) {
  DriftMonitorOptions options;
  options.max_alarms = 0;
  EXPECT_THAT(DriftMonitor::Create(options).status().message(), HasSubstr("max_alarms"));
  options = {};
  options.cooldown_samples = -1;
  EXPECT_THAT(DriftMonitor::Create(options).status().message(), HasSubstr("cooldown_samples"));
  options = {};
  options.warmup_samples = -1;
  EXPECT_THAT(DriftMonitor::Create(options).status().message(), HasSubstr("warmup_samples"));
  options = {};
  options.cooldown_time = absl::Seconds(-1);
  EXPECT_THAT(DriftMonitor::Create(options).status().message(), HasSubstr("cooldown_time"));
  options = {};
  options.detector = {};
  EXPECT_THAT(DriftMonitor::Create(options).status().message(), HasSubstr("no detector"));
  // Detector options are validated when read.
  const absl::Status status = ParseDetectorSpec("name = \"adwin\"\n[adwin]\ndelta = 2").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("adwin: delta"));
}

}  // namespace
}  // namespace fedge
