// The deployed model end to end in simulation: the real Federation runs the
// DistillingDeployer every K rounds on a held-out proxy set, and virtual
// devices install the signed int8 artifact into their ModelSlot.
#include <cmath>

#include "absl/strings/str_split.h"
#include "core/logging.h"
#include "core/status.h"
#include "gtest/gtest.h"
#include "simulations/simulator.h"
#include "simulations/testing/small_data.h"

namespace fedge {
namespace {

class DeploySimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(3000, 500);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  static Scenario Deploying(int workers) {
    Scenario s;
    s.name = "deploy-test";
    s.seed = 5;
    s.federation.rounds = 4;
    s.population.num_devices = 6;
    s.federation.devices_per_round = 3;
    s.federation.over_selection = 1.0;
    s.training.batch_size = 16;
    s.training.learning_rate = 0.05;
    s.deploy.every_rounds = 2;
    s.deploy.epochs = 3;
    s.deploy.proxy_examples = 1000;
    s.run.workers = workers;
    return s;
  }

  static absl::StatusOr<std::vector<RoundRow>> Run(const Scenario& s) { return testing::RunAllRounds(s, *data_); }

  static SimulationData* data_;
};

SimulationData* DeploySimTest::data_ = nullptr;

TEST_F(DeploySimTest, DeploysEveryKRoundsAndDevicesInstallTheInt8Model) {
  auto rows = Run(Deploying(2));
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  const std::vector<RoundRow>& r = *rows;
  EXPECT_EQ(r[0].deployed_version, 0);
  EXPECT_TRUE(std::isnan(r[0].deploy_int8_accuracy));
  for (int i : {1, 3}) {
    SCOPED_TRACE(i);
    EXPECT_EQ(r[i].deployed_version, (i + 1) / 2);
    EXPECT_DOUBLE_EQ(r[i].deploy_teacher_accuracy, r[i].test_accuracy);  // the teacher is the new global model
    EXPECT_GT(r[i].deploy_teacher_accuracy, 0.6);
    EXPECT_GT(r[i].deploy_student_accuracy, 0.5);
    EXPECT_NEAR(r[i].deploy_int8_accuracy, r[i].deploy_student_accuracy, 0.03);
    EXPECT_GT(r[i].deploy_size_ratio, 8);
    EXPECT_GT(r[i].deploy_artifact_bytes, 1000);
  }
  EXPECT_TRUE(std::isnan(r[2].deploy_int8_accuracy));
  // The devices sampled in round 3 installed deployment 1 when they polled.
  EXPECT_EQ(r[2].devices_serving_deployed, 3);
  EXPECT_GT(r[2].bytes_down, r[0].bytes_down);  // the int8 artifact travelled too
}

TEST_F(DeploySimTest, DeploymentsAreIdenticalAtAnyWorkerCount) {
  auto one = Run(Deploying(1));
  auto two = Run(Deploying(2));
  ASSERT_TRUE(one.ok() && two.ok());
  for (size_t i = 0; i < one->size(); ++i) {
    SCOPED_TRACE(i);
    const RoundRow& a = (*one)[i];
    const RoundRow& b = (*two)[i];
    EXPECT_EQ(a.test_accuracy, b.test_accuracy);
    EXPECT_EQ(a.devices_serving_deployed, b.devices_serving_deployed);
    if (std::isnan(a.deploy_int8_accuracy)) continue;
    EXPECT_EQ(a.deploy_student_accuracy, b.deploy_student_accuracy);
    EXPECT_EQ(a.deploy_int8_accuracy, b.deploy_int8_accuracy);
  }
}

// [rollout] in simulation: the same Federation and Device code as the
// service. Every device polls every round; from deployed version 2 on the
// TEST-ONLY degrading deployer breaks the model, which virtual devices catch
// with their held-back check and the rollout aborts.
TEST_F(DeploySimTest, StagedRolloutAdvancesAGoodModelAndAbortsABrokenOne) {
  Scenario s = Deploying(2);
  s.federation.devices_per_round = 6;
  s.deploy.every_rounds = 1;
  s.deploy.epochs = 1;
  s.deploy.test_degrade_from_version = 2;
  s.rollout.enabled = true;
  s.rollout.fractions = {0.3, 1.0};
  s.rollout.min_devices = {1, 1};
  s.rollout.soak_s = {0, 0};
  s.rollout.min_accuracy = 0.2;
  auto rows = Run(s);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  const std::vector<RoundRow>& r = *rows;
  // Round 1 deployed v1 and started its rollout; round 2 advanced it to
  // 100%, round 3 completed it (and started v3, the newest deployment).
  EXPECT_EQ(r[0].rollout_version, 1);
  EXPECT_EQ(r[0].rollout_stage, 1);
  EXPECT_EQ(r[1].rollout_advanced, 1);
  EXPECT_EQ(r[1].rollout_stage, 2);
  EXPECT_EQ(r[2].rollout_advanced, 1);
  EXPECT_EQ(r[2].serving_previous_version, 6);  // every device serves v1, the previous of v3
  EXPECT_EQ(r[2].rollout_version, 3);
  // Round 4: v3's canary failed its check and rolled back; the rollout aborted.
  EXPECT_EQ(r[3].rollout_aborted, 1);
  EXPECT_EQ(r[3].serving_previous_version + r[3].serving_rollout_version + r[3].serving_other_version, 6);
  for (const RoundRow& row : r) EXPECT_EQ(row.serving_other_version, 0) << row.round;
}

TEST_F(DeploySimTest, AProxySetThatLeavesDevicesNothingIsRefused) {
  Scenario s = Deploying(1);
  s.deploy.proxy_examples = 3000;
  auto sim = Simulator::Create(s, *data_);
  EXPECT_EQ(sim.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(sim.status().message().find("proxy_examples"), std::string::npos) << sim.status();
}

}  // namespace
}  // namespace fedge
