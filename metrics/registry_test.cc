#include "metrics/registry.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RegistryTest, RendersCountersAndGaugesWithLabelsInOrder) {
  Registry registry;
  Family<Counter>& rejected = registry.AddCounter("fedge_rejected_total", "Refused updates.", {"reason"});
  Family<Gauge>& round = registry.AddGauge("fedge_round", "The open round.");
  rejected.WithLabels({"norm"}).Increment(2);
  rejected.WithLabels({"corrupt"}).Increment();
  rejected.WithLabels({"corrupt"}).Increment(-5);  // ignored: counters only go up
  round.Get().Set(7);
  EXPECT_EQ(registry.Render(),
            "# HELP fedge_rejected_total Refused updates.\n"
            "# TYPE fedge_rejected_total counter\n"
            "fedge_rejected_total{reason=\"corrupt\"} 1\n"
            "fedge_rejected_total{reason=\"norm\"} 2\n"
            "# HELP fedge_round The open round.\n"
            "# TYPE fedge_round gauge\n"
            "fedge_round 7\n");
}

TEST(RegistryTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  Family<Histogram>& seconds = registry.AddHistogram("fedge_round_seconds", "Round time.", {1, 10}, {"outcome"});
  for (double v : {0.5, 1.0, 3.0, 30.0}) seconds.WithLabels({"ok"}).Observe(v);
  EXPECT_EQ(registry.Render(),
            "# HELP fedge_round_seconds Round time.\n"
            "# TYPE fedge_round_seconds histogram\n"
            "fedge_round_seconds_bucket{outcome=\"ok\",le=\"1\"} 2\n"
            "fedge_round_seconds_bucket{outcome=\"ok\",le=\"10\"} 3\n"
            "fedge_round_seconds_bucket{outcome=\"ok\",le=\"+Inf\"} 4\n"
            "fedge_round_seconds_sum{outcome=\"ok\"} 34.5\n"
            "fedge_round_seconds_count{outcome=\"ok\"} 4\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(EscapeHelp("line\\one\ntwo \"q\""), "line\\\\one\\ntwo \"q\"");
  Registry registry;
  registry.AddGauge("g", "x", {"device"}).WithLabels({"dev\"1\n"}).Set(1);
  EXPECT_THAT(registry.Render(), HasSubstr("g{device=\"dev\\\"1\\n\"} 1\n"));
}

TEST(RegistryTest, FormatsValues) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.0025), "0.0025");  // shortest, not 0.0025000000000000001
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(RegistryTest, ScrapeHooksRunBeforeRenderingAndSetAllClearsGoneSeries) {
  Registry registry;
  Family<Gauge>& serving = registry.AddGauge("fedge_devices_serving", "Devices per version.", {"version"});
  std::vector<std::pair<std::string, double>> snapshot = {{"1", 3}, {"2", 1}};
  registry.AddScrapeHook([&] {
    serving.SetAll(0);
    for (const auto& [version, n] : snapshot) serving.WithLabels({version}).Set(n);
  });
  EXPECT_THAT(registry.Render(), HasSubstr("fedge_devices_serving{version=\"1\"} 3\n"));
  snapshot = {{"2", 4}};
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("fedge_devices_serving{version=\"1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fedge_devices_serving{version=\"2\"} 4\n"));
}

TEST(RegistryTest, CountsFromManyThreads) {
  Registry registry;
  Counter& c = registry.AddCounter("fedge_events_total", "Events.").Get();
  Histogram& h = registry.AddHistogram("fedge_sizes", "Sizes.", {10}).Get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Increment();
        h.Observe(i % 20);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  EXPECT_EQ(h.Take().count, 40000u);
  EXPECT_EQ(h.Take().cumulative[0], 4u * 5500);  // 0..10 of every 20
}

TEST(RegistryDeathTest, BadNamesAndDuplicatesAreBugs) {
  Registry registry;
  registry.AddGauge("ok_name", "x");
  EXPECT_DEATH(registry.AddGauge("ok_name", "x"), "added twice");
  EXPECT_DEATH(registry.AddGauge("2bad", "x"), "bad metric name");
  EXPECT_DEATH(registry.AddGauge("good", "x", {"le"}), "bad label name");
  EXPECT_DEATH(registry.AddHistogram("h", "x", {2, 1}), "strictly increasing");
  EXPECT_DEATH(registry.AddCounter("c_total", "x", {"a"}).Get(), "label values");
}

}  // namespace
}  // namespace fedge::metrics
