// A tiny drifting federation on real Fashion-MNIST data through the real
// Federation, Device agents and LibTorch training: half of the devices see
// their images rotated by 90° from round 4; they raise drift alarms that
// reach the coordinator, the others stay quiet, and the accuracy on the
// drifted distribution falls below the test accuracy.
#include "simulations/drift_sim.h"

#include "core/logging.h"
#include "core/status.h"
#include "gtest/gtest.h"
#include "simulations/testing/small_data.h"
#include "simulations/drift_report.h"
#include "simulations/simulator.h"

namespace fedge {
namespace {

Scenario Drifting() {
  Scenario s;
  s.name = "drift-tiny";
  s.seed = 5;
  s.federation.rounds = 6;
  s.population.num_devices = 8;
  s.federation.devices_per_round = 4;
  s.federation.over_selection = 1.0;
  s.data.max_examples_per_device = 300;
  s.training.local_epochs = 2;
  s.drift.kind = DriftKind::kRotation;
  s.drift.devices = {0, 1, 2, 3};
  s.drift.start_round = 5;
  s.drift.magnitude = 90;
  s.drift.observe_examples = 100;
  s.drift.window = 200;
  s.drift.reservoir = 100;
  s.drift.train_examples = 200;
  s.drift.eval_examples = 500;
  s.drift.detector = *ParseDetectorSpec("[page_hinkley]\nthreshold = 10\ndelta = 0.05");
  return s;
}

TEST(DriftSimulationTest, DriftedDevicesAlarmAndTheCoordinatorHearsThem) {
  SetMinLogLevel(LogLevel::kError);
  auto data = testing::SmallFashionMnist(6000, 1000);
  ASSERT_TRUE(data.ok()) << data.status();
  const Scenario scenario = Drifting();
  auto run = testing::RunAllRounds(scenario, *data);
  ASSERT_TRUE(run.ok()) << run.status();
  const std::vector<RoundRow>& rows = *run;
  ASSERT_EQ(rows.size(), 6u);
  for (const RoundRow& r : rows) {
    EXPECT_EQ(r.drifted_devices, 4);
    EXPECT_EQ(r.drift_progress, r.round >= 5 ? 1.0 : 0.0);
    EXPECT_TRUE(std::isfinite(r.drifted_accuracy));
    if (r.round < 5) {
      EXPECT_EQ(r.alarms_drifted, 0) << "round " << r.round;
    }
  }
  const RoundRow& onset = rows[4];
  const RoundRow& last = rows.back();
  EXPECT_GT(onset.drift_alarms, 0);  // reported through Federation::Report
  EXPECT_GE(last.drift_detected, 4) << "every drifted device alarms";
  EXPECT_LE(last.false_alarm_devices, 1) << "undrifted devices mostly stay quiet";
  // Before the onset the "drifted" distribution is the plain one; after it
  // the rotated images are much harder for the global model.
  EXPECT_NEAR(rows[3].drifted_accuracy, rows[3].test_accuracy, 0.06);
  EXPECT_LT(onset.drifted_accuracy, onset.test_accuracy - 0.2);
  const nlohmann::json summary = DriftSummary(scenario, rows);
  EXPECT_GE(summary["detected_in_time_share"].get<double>(), 1.0);
}

}  // namespace
}  // namespace fedge
