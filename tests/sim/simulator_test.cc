// End-to-end tests of the simulator: real Federation, real Device agents and
// LibTorch training on a few hundred Fashion-MNIST examples.
#include "simulations/simulator.h"

#include <filesystem>

#include "absl/strings/str_split.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/testing/small_data.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class SimulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);  // simulated dropouts are logged as device warnings
    auto data = testing::SmallFashionMnist(3000, 300);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  static Scenario Tiny() {
    Scenario s;
    s.name = "tiny";
    s.seed = 42;
    s.federation.rounds = 3;
    s.population.num_devices = 12;
    s.federation.devices_per_round = 4;
    s.federation.over_selection = 1.5;  // stragglers arrive after the target: refused as late
    s.data.partition = "dirichlet";
    s.data.alpha = 0.5;
    s.data.max_examples_per_device = 40;
    s.training.batch_size = 16;
    s.devices.availability = 0.8;
    s.devices.dropout = 0.1;
    s.devices.compute_speed = {.mean = 50, .sigma = 0.8};
    return s;
  }

  static absl::StatusOr<RunReport> Run(const Scenario& s, TransportKind transport = TransportKind::kInProcess) {
    FEDGE_ASSIGN_OR_RETURN(std::vector<RoundRow> rows, testing::RunAllRounds(s, *data_, transport));
    RunReport report(s);
    for (const RoundRow& row : rows) report.AddRound(row);
    return report;
  }

  // The CSV without the machine-dependent wall-time column.
  static std::string DeterministicCsv(const RunReport& report) {
    std::string out;
    for (absl::string_view line : absl::StrSplit(report.RoundsCsv(), '\n')) {
      out += std::string(line.substr(0, line.rfind(','))) + "\n";
    }
    return out;
  }

  static SimulationData* data_;
};

SimulationData* SimulatorTest::data_ = nullptr;

TEST_F(SimulatorTest, SameSeedGivesIdenticalRoundsAtAnyWorkerCount) {
  Scenario one = Tiny();
  one.run.workers = 1;
  Scenario two = Tiny();
  two.run.workers = 2;
  auto a = Run(one);
  auto b = Run(two);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(a->rows().size(), 3u);
  EXPECT_EQ(DeterministicCsv(*a), DeterministicCsv(*b));
  EXPECT_TRUE(std::isfinite(a->rows().back().test_accuracy));
  Scenario other = Tiny();
  other.seed = 43;
  auto c = Run(other);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(DeterministicCsv(*a), DeterministicCsv(*c));
}

TEST_F(SimulatorTest, ErrorFeedbackCodecIsDeterministicAndSmaller) {
  Scenario s = Tiny();
  s.training.codec = "topk:0.1>int8";  // devices keep their residual between materialisations
  s.run.workers = 1;
  auto one = Run(s);
  s.run.workers = 2;
  auto two = Run(s);
  auto fp32 = Run(Tiny());
  ASSERT_TRUE(one.ok() && two.ok() && fp32.ok()) << one.status() << two.status() << fp32.status();
  EXPECT_EQ(DeterministicCsv(*one), DeterministicCsv(*two));
  const RoundRow& r = one->rows()[0];
  EXPECT_LT(r.bytes_up * 4.0, fp32->rows()[0].bytes_up * 1.0 / fp32->rows()[0].participants * r.participants);
}

TEST_F(SimulatorTest, LoopbackGrpcGivesTheSameRoundsAsInProcess) {
  Scenario s = Tiny();
  s.federation.rounds = 2;
  auto local = Run(s);
  auto remote = Run(s, TransportKind::kGrpc);
  ASSERT_TRUE(local.ok()) << local.status();
  ASSERT_TRUE(remote.ok()) << remote.status();
  EXPECT_EQ(DeterministicCsv(*local), DeterministicCsv(*remote));
  EXPECT_EQ(ParseTransportKind("grpc").value(), TransportKind::kGrpc);
  EXPECT_FALSE(ParseTransportKind("carrier pigeon").ok());
}

TEST_F(SimulatorTest, CountsParticipationAndTraffic) {
  auto report = Run(Tiny());
  ASSERT_TRUE(report.ok()) << report.status();
  int64_t dropped = 0;
  double last_time = 0;
  for (const RoundRow& r : report->rows()) {
    EXPECT_EQ(r.selected, 6);  // ceil(4 * 1.5)
    EXPECT_EQ(r.participants + r.dropped + r.rejected, r.selected);
    EXPECT_LE(r.participants, 4);
    EXPECT_EQ(r.rejected, 0);
    EXPECT_GT(r.bytes_down, 0u);
    EXPECT_GT(r.bytes_up, 0u);
    EXPECT_GT(r.sim_time_s, last_time);
    last_time = r.sim_time_s;
    dropped += r.dropped;
  }
  EXPECT_GT(dropped, 0);
}

TEST_F(SimulatorTest, DevicesThatMissTheDeadlineNeverUpload) {
  Scenario s = Tiny();
  s.federation.rounds = 1;
  s.devices = {};
  s.devices.compute_speed = {.mean = 1, .sigma = 0};  // 40 examples take 40 s
  s.federation.round_deadline_s = 10;
  auto report = Run(s);
  ASSERT_TRUE(report.ok()) << report.status();
  const RoundRow& r = report->rows()[0];
  EXPECT_FALSE(r.succeeded);  // quorum not reached
  EXPECT_EQ(r.participants, 0);
  EXPECT_EQ(r.dropped, r.selected);
  EXPECT_EQ(r.bytes_up, 0u);
  EXPECT_GT(r.bytes_down, 0u);
  EXPECT_NEAR(r.sim_time_s, 10, 1e-6);  // the round ran to its deadline
}

TEST_F(SimulatorTest, LargePopulationMaterialisesOnlyTheCohort) {
  Scenario s = Tiny();
  s.federation.rounds = 1;
  s.population.num_devices = 2000;
  s.federation.fraction = 0.002;  // 4 of 2000
  s.data.partition = "iid";
  s.data.max_examples_per_device = 0;  // 1 or 2 examples each
  s.federation.evaluate_every = 0;
  auto report = Run(s);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows()[0].selected, 6);
  EXPECT_TRUE(std::isnan(report->rows()[0].test_accuracy));
}

TEST_F(SimulatorTest, RunScenarioWritesTheReportFiles) {
  Scenario s = Tiny();
  s.federation.rounds = 2;
  s.population.num_devices = 4;
  s.federation.devices_per_round = 2;
  s.federation.evaluate_every = 0;  // the full test set is not needed here
  s.run.out_dir = ::testing::TempDir() + "/fedge_sim_e2e";
  std::filesystem::remove_all(s.run.out_dir);
  auto report = RunScenario(s, {.out = nullptr});
  ASSERT_TRUE(report.ok()) << report.status();
  const std::string dir = ReportDir(s);
  auto csv = ReadFile(dir + "/rounds.csv");
  ASSERT_TRUE(csv.ok());
  std::vector<std::string> lines = absl::StrSplit(*csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("round,succeeded,test_accuracy"));
  auto summary = nlohmann::json::parse(*ReadFile(dir + "/summary.json"));
  EXPECT_EQ(summary["rounds_completed"], 2);
  EXPECT_EQ(summary["scenario"]["name"], "tiny");
  EXPECT_THAT(*ReadFile(dir + "/report.html"), HasSubstr("<svg"));
}

}  // namespace
}  // namespace fedge
