// Secure aggregation in fedge-sim (issue 20, phase 2): the same scenario
// with and without [secagg] reaches the same accuracy, with devices losing
// their link at each protocol stage, with int8 or int4 codes (the width
// follows training.codec); too many dropouts fail a round cleanly. The
// full-size version (100 devices per round) is
// simulations/scenarios/secagg.toml.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "core/logging.h"
#include "gtest/gtest.h"
#include "simulations/simulator.h"
#include "simulations/testing/small_data.h"

namespace fedge {
namespace {

class SimSecAggTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(4000, 500);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  // 20 devices per round, every one selected, clipped updates.
  static Scenario Plain() {
    Scenario s;
    s.name = "secagg_small";
    s.seed = 11;
    s.federation.rounds = 2;
    s.population.num_devices = 20;
    s.federation.devices_per_round = 20;
    s.federation.over_selection = 1;
    s.federation.min_quorum = 10;
    s.data.partition = "dirichlet";
    s.data.alpha = 1.0;
    s.data.max_examples_per_device = 150;
    s.training.batch_size = 16;
    s.training.update_clip_norm = 5;
    s.run.workers = 2;
    return s;
  }

  static Scenario Secure(double stage_dropout) {
    Scenario s = Plain();
    s.secagg.enabled = true;
    // t > k/2 tolerates k - t = 5 lost neighbours at any stage (k = 8, t = 5
    // fails this seed: a device loses 4 of its 8).
    s.secagg.neighbours = 12;
    s.secagg.threshold = 7;
    s.devices.secagg_dropout = stage_dropout;
    return s;
  }

  // The rounds of `scenario`, run once per test program under `key` (the
  // plain and secure runs are shared by several tests).
  static const std::vector<RoundRow>& Rounds(const std::string& key, const Scenario& scenario) {
    static std::map<std::string, std::vector<RoundRow>> runs;
    auto it = runs.find(key);
    if (it == runs.end()) {
      auto rows = testing::RunAllRounds(scenario, *data_);
      EXPECT_TRUE(rows.ok()) << key << ": " << rows.status();
      it = runs.emplace(key, rows.ok() ? *std::move(rows) : std::vector<RoundRow>()).first;
    }
    return it->second;
  }

  static SimulationData* data_;
};

SimulationData* SimSecAggTest::data_ = nullptr;

TEST_F(SimSecAggTest, SecureAggregationWithDropoutsMatchesThePlainRunsAccuracy) {
  const std::vector<RoundRow>* plain = &Rounds("plain", Plain());
  const std::vector<RoundRow>* secure = &Rounds("secure", Secure(0.03));  // ~10% lost over the four stages
  ASSERT_EQ(plain->size(), 2u);
  ASSERT_EQ(secure->size(), 2u);
  int64_t lost = 0;
  for (const RoundRow& r : *secure) {
    EXPECT_TRUE(r.succeeded) << "round " << r.round;
    EXPECT_GT(r.participants, 10);
    lost += r.selected - r.participants;
    EXPECT_GT(r.secagg_bytes_up_per_device, 0);
    EXPECT_GT(r.secagg_bytes_down_per_device, 0);
  }
  EXPECT_GT(lost, 0) << "the seeded dropouts should remove someone";
  EXPECT_TRUE(std::isnan(plain->back().secagg_bytes_up_per_device));
  const double plain_accuracy = plain->back().test_accuracy;
  const double secure_accuracy = secure->back().test_accuracy;
  EXPECT_GT(plain_accuracy, 0.3);  // it learnt something
  EXPECT_NEAR(secure_accuracy, plain_accuracy, 0.05);
}

TEST_F(SimSecAggTest, SameSeedGivesTheSameRounds) {
  Scenario one = Secure(0.03);
  one.run.workers = 1;
  auto a = testing::RunAllRounds(one, *data_);
  const std::vector<RoundRow>* b = &Rounds("secure", Secure(0.03));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].participants, (*b)[i].participants);
    EXPECT_EQ((*a)[i].test_accuracy, (*b)[i].test_accuracy);  // the unmasked sums are exact
    EXPECT_EQ((*a)[i].bytes_up, (*b)[i].bytes_up);
  }
}

// training.codec = "int4": the devices send 4-bit codes on the round's
// shared scale, in a ring 4 bits narrower than the int8 run's.
TEST_F(SimSecAggTest, Int4CodesWithDropoutsMatchThePlainRunsAccuracyInANarrowerRing) {
  Scenario int4 = Secure(0.03);
  int4.training.codec = "int4";
  const std::vector<RoundRow>& plain = Rounds("plain", Plain());
  const std::vector<RoundRow>& secure8 = Rounds("secure", Secure(0.03));
  const std::vector<RoundRow>& secure4 = Rounds("secure_int4", int4);
  ASSERT_EQ(plain.size(), 2u);
  ASSERT_EQ(secure8.size(), 2u);
  ASSERT_EQ(secure4.size(), 2u);
  for (const RoundRow& r : secure4) {
    EXPECT_TRUE(r.succeeded) << "round " << r.round;
    EXPECT_GT(r.participants, 10);
  }
  // Same seed, same dropouts: the same devices complete each round.
  EXPECT_EQ(secure4.back().participants, secure8.back().participants);
  // 20 devices: a 9-bit ring for int4 codes against 13 bits for int8.
  const double ratio = secure4.back().secagg_bytes_up_per_device / secure8.back().secagg_bytes_up_per_device;
  EXPECT_GT(ratio, 9.0 / 13 - 0.02);
  EXPECT_LT(ratio, 9.0 / 13 + 0.05);
  EXPECT_GT(plain.back().test_accuracy, 0.3);
  EXPECT_NEAR(secure4.back().test_accuracy, plain.back().test_accuracy, 0.05);
}

TEST_F(SimSecAggTest, TooManyDropoutsFailTheRoundWithTheModelUnchanged) {
  Scenario s = Secure(0.6);
  s.federation.rounds = 1;
  auto rows = testing::RunAllRounds(s, *data_);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_FALSE(rows->front().succeeded);
  EXPECT_EQ(rows->front().participants, 0);
  // No model was produced: evaluation (after successful rounds only) did not run.
  EXPECT_TRUE(std::isnan(rows->front().test_accuracy));
}

}  // namespace
}  // namespace fedge
