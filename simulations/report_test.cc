#include "simulations/report.h"

#include <cstdio>
#include <filesystem>
#include <map>

#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/progress.h"
#include "simulations/svg_chart.h"

namespace fedge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

RunReport TwoRounds() {
  Scenario s;
  s.name = "unit <test>";
  RunReport report(s);
  report.AddRound({.round = 1,
                   .succeeded = true,
                   .participants = 3,
                   .selected = 4,
                   .dropped = 1,
                   .bytes_up = 1000,
                   .bytes_down = 2000,
                   .sim_time_s = 1.5,
                   .wall_time_s = 0.25});
  report.AddRound({.round = 2,
                   .succeeded = true,
                   .test_accuracy = 0.5,
                   .test_loss = 1.25,
                   .participants = 4,
                   .selected = 4,
                   .bytes_up = 1100,
                   .bytes_down = 2100,
                   .sim_time_s = 3,
                   .wall_time_s = 0.5});
  return report;
}

TEST(ReportTest, CsvHasTheHeaderAndOneRowPerRound) {
  const std::string csv = TwoRounds().RoundsCsv();
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  // Feature tables add columns between these; look cells up by name.
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  EXPECT_EQ(header, RoundColumns());
  ASSERT_GE(header.size(), 12u);
  EXPECT_EQ(header.front(), "round");
  EXPECT_EQ(header.back(), "wall_time_s");
  auto cells = [&](const std::string& line) {
    const std::vector<std::string> values = absl::StrSplit(line, ',');
    EXPECT_EQ(values.size(), header.size());
    std::map<std::string, std::string> by_name;
    for (size_t i = 0; i < std::min(values.size(), header.size()); ++i) by_name[header[i]] = values[i];
    return by_name;
  };
  const std::map<std::string, std::string> expected[2] = {
      {{"round", "1"}, {"succeeded", "1"}, {"test_accuracy", ""}, {"test_loss", ""},  // not evaluated: empty
       {"participants", "3"}, {"selected", "4"}, {"dropped", "1"}, {"rejected", "0"}, {"bytes_up", "1000"},
       {"bytes_down", "2000"}, {"sim_time_s", "1.500"}, {"wall_time_s", "0.250"}},
      {{"round", "2"}, {"succeeded", "1"}, {"test_accuracy", "0.500000"}, {"test_loss", "1.250000"},
       {"participants", "4"}, {"selected", "4"}, {"dropped", "0"}, {"rejected", "0"}, {"bytes_up", "1100"},
       {"bytes_down", "2100"}, {"sim_time_s", "3.000"}, {"wall_time_s", "0.500"}}};
  for (int i = 0; i < 2; ++i) {
    const std::map<std::string, std::string> row = cells(lines[i + 1]);
    for (const auto& [name, value] : expected[i]) EXPECT_EQ(row.at(name), value) << "round " << i + 1 << " " << name;
  }
}

TEST(ReportTest, SummaryHasTotalsAndBestAccuracy) {
  const nlohmann::json j = TwoRounds().Summary({.setup_s = 1, .total_s = 2});
  EXPECT_EQ(j["totals"]["bytes_up"], 2100);
  EXPECT_EQ(j["totals"]["participants"], 7);
  EXPECT_EQ(j["final_test_accuracy"], 0.5);
  EXPECT_EQ(j["best_round"], 2);
  EXPECT_EQ(j["scenario"]["name"], "unit <test>");
  EXPECT_DOUBLE_EQ(j["timings"]["sim_time_s"].get<double>(), 3);
  EXPECT_TRUE(nlohmann::json::parse(j.dump()).is_object());
}

TEST(ReportTest, HtmlIsSelfContainedWithFourCharts) {
  const std::string html = TwoRounds().Html({.total_s = 2});
  size_t charts = 0;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++charts;
  EXPECT_EQ(charts, 4u);
  EXPECT_THAT(html, HasSubstr("<polyline"));
  EXPECT_THAT(html, HasSubstr("unit &lt;test&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, HasSubstr("data.partition"));  // scenario table
}

TEST(ReportTest, DeploymentsAppearOnlyWhenAModelWasDeployed) {
  RunReport none = TwoRounds();
  EXPECT_THAT(none.Html({}), Not(HasSubstr("Deployed model")));
  EXPECT_THAT(none.TerminalSummary({}, "d"), Not(HasSubstr("deployed model")));

  Scenario s;
  s.deploy.every_rounds = 2;
  RunReport report(s);
  report.AddRound({.round = 1, .succeeded = true, .test_accuracy = 0.8});
  report.AddRound({.round = 2,
                   .succeeded = true,
                   .test_accuracy = 0.85,
                   .deployed_version = 1,
                   .deploy_teacher_accuracy = 0.85,
                   .deploy_student_accuracy = 0.84,
                   .deploy_int8_accuracy = 0.835,
                   .deploy_artifact_bytes = 6849,
                   .deploy_size_ratio = 10.7});
  report.AddRound({.round = 3, .succeeded = true, .deployed_version = 1, .devices_serving_deployed = 4});
  const nlohmann::json j = report.Summary({});
  ASSERT_EQ(j["deployments"].size(), 1u);
  EXPECT_EQ(j["deployments"][0]["round"], 2);
  EXPECT_EQ(j["deployments"][0]["int8_accuracy"], 0.835);
  const std::string html = report.Html({});
  EXPECT_THAT(html, HasSubstr("Deployed model"));
  EXPECT_THAT(html, HasSubstr("<td>83.50%</td>"));
  EXPECT_THAT(html, HasSubstr("<td>4</td></tr>"));  // serving at the close of the next round
  EXPECT_THAT(report.TerminalSummary({}, "d"), HasSubstr("v1 at round 2: teacher 85.00%, student fp32 84.00%, int8 83.50%"));
  EXPECT_THAT(report.RoundsCsv(), HasSubstr(",1,0,0.850000,0.840000,0.835000,6849,10.700,"));
}

TEST(ReportTest, WriteAllWritesTheThreeFiles) {
  const std::string dir = ::testing::TempDir() + "/fedge_report_test";
  std::filesystem::remove_all(dir);
  const RunReport report = TwoRounds();
  ASSERT_TRUE(report.WriteAll(dir, {.total_s = 2}).ok());
  EXPECT_EQ(*ReadFile(dir + "/rounds.csv"), report.RoundsCsv());
  EXPECT_TRUE(nlohmann::json::parse(*ReadFile(dir + "/summary.json"))["totals"].is_object());
  EXPECT_THAT(*ReadFile(dir + "/report.html"), HasSubstr("</html>"));
  EXPECT_THAT(report.TerminalSummary({.total_s = 2}, dir), HasSubstr(dir + "/report.html"));
}

TEST(SvgChartTest, NiceTicksAndEmptyCharts) {
  EXPECT_THAT(NiceTicks(0, 1, 6), ElementsAre(0, 0.2, 0.4, 0.6000000000000001, 0.8, 1));
  EXPECT_THAT(NiceTicks(0, 100, 6), ElementsAre(0, 20, 40, 60, 80, 100));
  EXPECT_THAT(NiceTicks(0.05, 0.37, 6), ElementsAre(0, 0.1, 0.2, ::testing::DoubleNear(0.3, 1e-12), 0.4));
  EXPECT_THAT(RenderSvg({.title = "t", .y_label = "", .x = {1, 2}, .series = {{"s", "#000", {NAN, NAN}}}}),
              HasSubstr("no data"));
  EXPECT_EQ(HtmlEscape("a<&>\"'"), "a&lt;&amp;&gt;&quot;&#39;");
}

TEST(ProgressTest, LineShowsBarCountsAndEta) {
  EXPECT_EQ(ProgressBar::Line(5, 10, "acc 80.0%", absl::Seconds(30), 10),
            "[#####     ] 5/10 rounds  acc 80.0%  0:30 elapsed  ETA 0:30");
  EXPECT_EQ(FormatElapsed(absl::Seconds(3725)), "1:02:05");
}

TEST(ProgressTest, PlainOutputPrintsAboutTenLinesForLongRuns) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buffer, &size);
  FakeClock clock;
  ProgressBar bar(100, out, /*tty=*/false, &clock);
  for (int i = 1; i <= 100; ++i) bar.Update(i, "");
  bar.Finish();
  std::fclose(out);
  const std::string text(buffer, size);
  free(buffer);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10);
  EXPECT_THAT(text, HasSubstr("100/100 rounds"));
}

}  // namespace
}  // namespace fedge

#include "simulations/time_to_target.h"

namespace fedge {
namespace {

TEST(TimeToTargetTest, FirstEvaluatedRowAtOrAboveTheTarget) {
  std::vector<RoundRow> rows(4);
  const double accuracy[] = {0.5, NAN, 0.81, 0.9};
  for (int i = 0; i < 4; ++i) {
    rows[i].round = i + 1;
    rows[i].test_accuracy = accuracy[i];
    rows[i].participants = 10;
    rows[i].sim_time_s = 100.0 * (i + 1);
  }
  TimeToTarget t = FirstReaching(rows, 0.8);
  EXPECT_TRUE(t.reached);
  EXPECT_EQ(t.round, 3);
  EXPECT_EQ(t.updates, 30);
  EXPECT_DOUBLE_EQ(t.sim_time_s, 300);
  t = FirstReaching(rows, 0.95);
  EXPECT_FALSE(t.reached);
  EXPECT_TRUE(std::isnan(t.sim_time_s));
  EXPECT_EQ(t.updates, 40);
}

}  // namespace
}  // namespace fedge
