// A population larger than the dataset (partition = "sample"), end to end:
// 5,000 devices over 3,000 real Fashion-MNIST images, 50 sampled per round.
// Every sampled device holds data and trains, the rounds are reproducible,
// and an unsampled device costs at most 2 KB.
#include <memory>

#include "absl/strings/str_split.h"
#include "core/logging.h"
#include "gtest/gtest.h"
#include "simulations/heap_usage.h"
#include "simulations/sample_partition.h"
#include "simulations/simulator.h"
#include "simulations/testing/small_data.h"

namespace fedge {
namespace {

constexpr int64_t kMaxBytesPerDevice = 2048;

class PopulationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(3000, 300);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  static Scenario Population(int64_t devices) {
    Scenario s;
    s.name = "population";
    s.seed = 7;
    s.model.name = "cnn_student";
    s.population.num_devices = devices;
    s.federation.rounds = 2;
    s.federation.devices_per_round = 50;
    s.federation.over_selection = 1.0;
    s.federation.evaluate_every = 2;
    s.data.partition = "sample";
    s.data.alpha = 0.5;
    s.data.sample_size = {.mean = 12, .sigma = 0.5};
    s.data.sample_min = 4;
    s.data.sample_max = 40;
    s.data.style = {.rotation_deg = 10, .brightness = 0.1, .noise = 0.03};
    s.training.batch_size = 8;
    s.run.workers = 2;
    return s;
  }

  static SimulationData* data_;
};

SimulationData* PopulationTest::data_ = nullptr;

TEST_F(PopulationTest, EverySampledDeviceTrainsAndUnsampledOnesCostLittle) {
  const Scenario s = Population(5000);
  auto sim = Simulator::Create(s, *data_);
  ASSERT_TRUE(sim.ok()) << sim.status();
  EXPECT_EQ((*sim)->empty_devices(), 0);
  // Every device online, no dropouts, a generous deadline: a device without
  // data would be the only way for a sampled device not to deliver.
  std::vector<RoundRow> rows;
  while (!(*sim)->finished()) {
    auto row = (*sim)->RunRound();
    ASSERT_TRUE(row.ok()) << row.status();
    rows.push_back(*row);
  }
  ASSERT_EQ(rows.size(), 2u);
  for (const RoundRow& row : rows) {
    EXPECT_TRUE(row.succeeded);
    EXPECT_EQ(row.selected, 50);
    EXPECT_EQ(row.participants, 50) << "round " << row.round;
    EXPECT_EQ(row.dropped, 0);
  }
  EXPECT_TRUE(std::isfinite(rows.back().test_accuracy));
  const int64_t bytes = (*sim)->population_bytes().total();
  if (bytes == 0) GTEST_SKIP() << "the heap cannot be measured here";
  EXPECT_LE(bytes / s.population.num_devices, kMaxBytesPerDevice) << bytes << " B for the population";
}

TEST_F(PopulationTest, CostPerDeviceDoesNotDependOnSetupCosts) {
  // The difference between two population sizes cancels whatever the setup
  // holds once (the shared class index, the model, the evaluator).
  auto small = Simulator::Create(Population(1000), *data_);
  ASSERT_TRUE(small.ok()) << small.status();
  const PopulationBytes small_bytes = (*small)->population_bytes();
  small->reset();
  auto large = Simulator::Create(Population(9000), *data_);
  ASSERT_TRUE(large.ok()) << large.status();
  const PopulationBytes large_bytes = (*large)->population_bytes();
  if (large_bytes.total() == 0) GTEST_SKIP() << "the heap cannot be measured here";
  const int64_t per_device = (large_bytes.total() - small_bytes.total()) / 8000;
  EXPECT_GT(per_device, 0);
  EXPECT_LE(per_device, kMaxBytesPerDevice);
  std::printf("population: %lld B per unsampled device (simulator %lld B, coordinator registry %lld B)\n",
              static_cast<long long>(per_device),
              static_cast<long long>((large_bytes.simulator - small_bytes.simulator) / 8000),
              static_cast<long long>((large_bytes.registry - small_bytes.registry) / 8000));
}

TEST_F(PopulationTest, OverGrpcTheFigureIsReportedOnlyWhenTheWholeHeapIsSeen) {
  // gRPC's threads register the devices: a reading of this thread's heap
  // alone (mimalloc) would show a registry of nothing.
  auto sim = Simulator::Create(Population(500), *data_, TransportKind::kGrpc);
  ASSERT_TRUE(sim.ok()) << sim.status();
  const PopulationBytes bytes = (*sim)->population_bytes();
  switch (HeapUsageScope()) {
    case HeapScope::kThread:
      EXPECT_EQ(bytes.total(), 0) << MallocName();
      break;
    case HeapScope::kProcess:
      EXPECT_GT(bytes.registry, 0) << MallocName();
      break;
    case HeapScope::kNone:
      GTEST_SKIP() << "the heap cannot be measured here";
  }
}

TEST_F(PopulationTest, SameSeedGivesIdenticalRounds) {
  Scenario s = Population(2000);
  s.federation.devices_per_round = 20;
  auto csv = [&](int workers) -> std::string {
    Scenario w = s;
    w.run.workers = workers;
    auto rows = testing::RunAllRounds(w, *data_);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return "";
    RunReport report(w);
    for (const RoundRow& row : *rows) report.AddRound(row);
    std::string out;  // without the wall-time column
    for (absl::string_view line : absl::StrSplit(report.RoundsCsv(), '\n')) {
      out += std::string(line.substr(0, line.rfind(','))) + "\n";
    }
    return out;
  };
  const std::string one = csv(1);
  EXPECT_FALSE(one.empty());
  EXPECT_EQ(one, csv(2));
}

}  // namespace
}  // namespace fedge
