#include "client/drift_response.h"

#include <vector>

#include "client/data/device_data_stream.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

// A Page-Hinkley monitor that fires within a few dozen values of a jump
// from 0.1 to 0.9, and never on the constant 0.1.
DriftResponseOptions FastOptions() {
  DriftResponseOptions options;
  options.monitor.detector = *ParseDetectorSpec("name = \"page_hinkley\"\n[page_hinkley]\nthreshold = 5");
  options.monitor.cooldown_samples = 1000;
  return options;
}

struct Recorder {
  int prioritised = 0;
  std::vector<std::vector<proto::DriftAlarm>> reports;
  absl::Status next_status;
  DriftResponseHooks Hooks() {
    return {.prioritise_recent = [this] { ++prioritised; },
            .report = [this](absl::Span<const proto::DriftAlarm> a) {
              if (!next_status.ok()) return next_status;
              reports.emplace_back(a.begin(), a.end());
              return absl::OkStatus();
            }};
  }
};

TEST(DriftResponderTest, StableLossesNeitherPrioritiseNorReport) {
  Recorder rec;
  FakeClock clock;
  auto responder = DriftResponder::Create(FastOptions(), rec.Hooks(), &clock);
  ASSERT_TRUE(responder.ok()) << responder.status();
  const std::vector<float> losses(500, 0.1f);
  DriftResponseOutcome outcome = (*responder)->ObserveLosses(losses);
  EXPECT_EQ(outcome.new_alarms, 0);
  EXPECT_FALSE(outcome.prioritised);
  EXPECT_EQ(rec.prioritised, 0);
  EXPECT_TRUE(rec.reports.empty());
}

TEST(DriftResponderTest, AlarmPrioritisesRecentDataAndReportsStatistic) {
  Recorder rec;
  FakeClock clock;
  auto responder = DriftResponder::Create(FastOptions(), rec.Hooks(), &clock);
  ASSERT_TRUE(responder.ok());
  (*responder)->ObserveLosses(std::vector<float>(300, 0.1f));
  DriftResponseOutcome outcome = (*responder)->ObserveLosses(std::vector<float>(100, 0.9f));
  EXPECT_EQ(outcome.new_alarms, 1);
  EXPECT_TRUE(outcome.prioritised);
  EXPECT_EQ(outcome.reported, 1);
  EXPECT_EQ(rec.prioritised, 1);
  ASSERT_EQ(rec.reports.size(), 1u);
  ASSERT_EQ(rec.reports[0].size(), 1u);
  const proto::DriftAlarm& alarm = rec.reports[0][0];
  EXPECT_EQ(alarm.detector(), "page_hinkley");
  EXPECT_GT(alarm.statistic(), 5.0);  // Page-Hinkley's PH_t crossed the threshold
  EXPECT_GT(alarm.samples_seen(), 300u);
  EXPECT_EQ(alarm.unix_micros(), absl::ToUnixMicros(clock.Now()));
  EXPECT_EQ((*responder)->total_alarms(), 1u);
}

TEST(DriftResponderTest, FailedReportIsRetriedWithTheNextOne) {
  Recorder rec;
  rec.next_status = absl::UnavailableError("offline");
  auto responder = DriftResponder::Create(FastOptions(), rec.Hooks());
  ASSERT_TRUE(responder.ok());
  (*responder)->ObserveLosses(std::vector<float>(300, 0.1f));
  DriftResponseOutcome failed = (*responder)->ObserveLosses(std::vector<float>(100, 0.9f));
  EXPECT_EQ(failed.new_alarms, 1);
  EXPECT_TRUE(absl::IsUnavailable(failed.report_status));
  EXPECT_EQ((*responder)->pending_reports(), 1);
  rec.next_status = absl::OkStatus();
  DriftResponseOutcome retried = (*responder)->Respond();
  EXPECT_EQ(retried.new_alarms, 0);
  EXPECT_EQ(retried.reported, 1);
  EXPECT_EQ((*responder)->pending_reports(), 0);
  ASSERT_EQ(rec.reports.size(), 1u);
}

TEST(DriftResponderTest, PendingQueueIsBounded) {
  Recorder rec;
  rec.next_status = absl::UnavailableError("offline");
  DriftResponseOptions options = FastOptions();
  options.max_pending_alarms = 2;
  options.monitor.cooldown_samples = 0;
  auto responder = DriftResponder::Create(options, rec.Hooks());
  ASSERT_TRUE(responder.ok());
  // Alternating regimes raise an alarm on every rise.
  for (int i = 0; i < 5; ++i) {
    (*responder)->ObserveLosses(std::vector<float>(200, 0.1f));
    (*responder)->ResetMonitor();
    (*responder)->ObserveLosses(std::vector<float>(200, 0.1f));
    (*responder)->ObserveLosses(std::vector<float>(100, 0.9f));
  }
  EXPECT_GE((*responder)->total_alarms(), 5u);
  EXPECT_EQ((*responder)->pending_reports(), 2);
  EXPECT_EQ((*responder)->dropped_reports(), (*responder)->total_alarms() - 2);
}

TEST(DriftResponderTest, ResponseDrivesTheDataStreamToRecentData) {
  DeviceDataStreamOptions data_options;
  data_options.preprocess.dim = 2;
  data_options.store.dim = 2;
  data_options.store.window_capacity = 8;
  data_options.store.reservoir_capacity = 8;
  auto stream = DeviceDataStream::Create(data_options, SeededRandom(3));
  ASSERT_TRUE(stream.ok());
  std::vector<proto::DriftAlarm> sent;
  DriftResponseHooks hooks{.prioritise_recent = [&] { (*stream)->NotifyDrift(); },
                           .report = [&](absl::Span<const proto::DriftAlarm> a) {
                             sent.insert(sent.end(), a.begin(), a.end());
                             return absl::OkStatus();
                           }};
  auto responder = DriftResponder::Create(FastOptions(), std::move(hooks));
  ASSERT_TRUE(responder.ok());
  EXPECT_DOUBLE_EQ((*stream)->current_recent_fraction(), 0.7);
  (*responder)->ObserveLosses(std::vector<float>(300, 0.1f));
  (*responder)->ObserveLosses(std::vector<float>(100, 0.9f));
  EXPECT_TRUE((*stream)->prioritising_recent());
  EXPECT_DOUBLE_EQ((*stream)->current_recent_fraction(), 1.0);
  EXPECT_EQ(sent.size(), 1u);
}

TEST(DriftResponderTest, ActionsCanBeSwitchedOff) {
  DriftResponseOptions options = FastOptions();
  options.prioritise_recent = false;
  options.report = false;
  auto responder = DriftResponder::Create(options, {});
  ASSERT_TRUE(responder.ok()) << responder.status();
  (*responder)->ObserveLosses(std::vector<float>(300, 0.1f));
  DriftResponseOutcome outcome = (*responder)->ObserveLosses(std::vector<float>(100, 0.9f));
  EXPECT_EQ(outcome.new_alarms, 1);
  EXPECT_FALSE(outcome.prioritised);
  EXPECT_EQ(outcome.reported, 0);
  EXPECT_EQ((*responder)->pending_reports(), 0);
}

TEST(DriftResponderTest, RejectsMissingHooksAndBadOptions) {
  EXPECT_TRUE(absl::IsInvalidArgument(DriftResponder::Create(FastOptions(), {}).status()));
  DriftResponseOptions options = FastOptions();
  options.max_pending_alarms = 0;
  Recorder rec;
  EXPECT_TRUE(absl::IsInvalidArgument(DriftResponder::Create(options, rec.Hooks()).status()));
  absl::Status status = ParseDetectorSpec("name = \"cusum\"").status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find("cusum"), std::string::npos);
}

TEST(DriftResponderTest, MakeDriftReportCarriesAlarmsAndMetrics) {
  proto::DriftAlarm alarm;
  alarm.set_detector("adwin");
  alarm.set_statistic(0.25);
  const proto::DeviceReport report = MakeDriftReport("dev-7", {alarm}, {{"train_loss", 0.5}});
  EXPECT_EQ(report.device_id(), "dev-7");
  ASSERT_EQ(report.alarms_size(), 1);
  EXPECT_EQ(report.alarms(0).statistic(), 0.25);
  EXPECT_EQ(report.metrics().at("train_loss"), 0.5);
}

}  // namespace
}  // namespace fedge
