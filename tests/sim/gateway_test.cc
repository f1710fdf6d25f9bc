// The two-tier topology in fedge-sim ([gateway] sites > 0): the same
// federation behind gateways gives the direct run's model, with one update
// per site reaching the coordinator.
#include <cmath>

#include "core/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/scenario.h"
#include "simulations/simulator.h"
#include "simulations/testing/small_data.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class SimGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SetMinLogLevel(LogLevel::kError);
    auto data = testing::SmallFashionMnist(3000, 300);
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new SimulationData(*std::move(data));
  }

  // 12 devices, every one training every round; fp32 updates, so the
  // weighted mean of the sites' weighted means is the direct run's mean up to
  // float rounding.
  static Scenario Direct() {
    Scenario s;
    s.name = "gateways";
    s.seed = 19;
    s.federation.rounds = 3;
    s.population.num_devices = 12;
    s.federation.devices_per_round = 12;
    s.federation.over_selection = 1;
    s.data.partition = "dirichlet";
    s.data.max_examples_per_device = 40;
    s.training.batch_size = 16;
    s.run.workers = 2;
    return s;
  }

  static Scenario TwoTier() {
    Scenario s = Direct();
    s.gateway.sites = 3;
    s.federation.devices_per_round = 3;
    return s;
  }

  static absl::StatusOr<std::vector<RoundRow>> Run(const Scenario& s) { return testing::RunAllRounds(s, *data_); }

  static SimulationData* data_;
};

SimulationData* SimGatewayTest::data_ = nullptr;

TEST_F(SimGatewayTest, ThreeSitesGiveTheDirectModelWithOneUpdatePerSite) {
  auto direct = Run(Direct());
  auto tiered = Run(TwoTier());
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_TRUE(tiered.ok()) << tiered.status();
  ASSERT_EQ(direct->size(), 3u);
  ASSERT_EQ(tiered->size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    const RoundRow& d = (*direct)[r];
    const RoundRow& t = (*tiered)[r];
    EXPECT_EQ(d.participants, 12);
    EXPECT_EQ(t.participants, 3);  // one combined update per site
    // Four devices per site; an update's header differs by a few bytes (its example count).
    EXPECT_NEAR(static_cast<double>(d.bytes_up) / static_cast<double>(t.bytes_up), 4.0, 0.01) << "round " << r + 1;
    EXPECT_NEAR(t.test_loss, d.test_loss, 1e-4) << "round " << r + 1;
    EXPECT_NEAR(t.test_accuracy, d.test_accuracy, 2e-3) << "round " << r + 1;
  }
}

TEST_F(SimGatewayTest, TwoTierRoundsAreIdenticalAtAnyWorkerCount) {
  Scenario one = TwoTier();
  one.run.workers = 1;
  one.training.codec = "int8";  // the gateways' own stochastic rounding is seeded too
  Scenario two = one;
  two.run.workers = 2;
  auto a = Run(one);
  auto b = Run(two);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status() << b.status();
  for (size_t r = 0; r < a->size(); ++r) {
    EXPECT_EQ((*a)[r].test_loss, (*b)[r].test_loss);
    EXPECT_EQ((*a)[r].bytes_up, (*b)[r].bytes_up);
  }
}

TEST_F(SimGatewayTest, RefusesWhatTheTwoTierTopologyDoesNotRunWith) {
  auto parsed = ParseScenario(R"(
name = "x"
[population]
num_devices = 10
[federation]
rounds = 1
devices_per_round = 2
[training]
update_clip_norm = 1.0
[secagg]
enabled = true
[gateway]
sites = 2
)",
                              "gateway.toml", {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("does not run with [secagg]"));
  auto too_many = ParseScenario("name = \"x\"\n[population]\nnum_devices = 4\n[gateway]\nsites = 5\n", "g.toml", {});
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(too_many.status().message(), HasSubstr("every gateway needs a device"));
}

}  // namespace
}  // namespace fedge
