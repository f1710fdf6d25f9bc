// The device's side of a secure-aggregation task (client/secagg_exchange.h):
// the code width it takes from the task, its quantization on the round's
// shared scale, and the tasks it refuses before anything is sent.
#include "client/secagg_exchange.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "secagg/ring_codes.h"

namespace fedge {
namespace {

proto::Task SecAggTaskFor(uint32_t num_clients, uint32_t code_bits) {
  proto::Task task;
  task.set_round(3);
  task.set_task_id("task-0");
  proto::SecAggTask& s = *task.mutable_secagg();
  s.set_client_index(0);
  s.set_num_clients(num_clients);
  s.set_neighbours(4);
  s.set_threshold(3);
  s.set_ring_bits(static_cast<uint32_t>(*secagg::RingBitsFor(code_bits == 0 ? 8 : static_cast<int>(code_bits),
                                                               num_clients)));
  s.set_graph_seed(11);
  s.set_scale(0.1);
  s.set_code_bits(code_bits);
  return task;
}

TEST(SecAggTaskCodeBitsTest, TakesEightOrFourAndZeroMeansEight) {
  proto::SecAggTask s;
  EXPECT_EQ(*SecAggTaskCodeBits(s), 8) << "a coordinator that predates code_bits";
  s.set_code_bits(8);
  EXPECT_EQ(*SecAggTaskCodeBits(s), 8);
  s.set_code_bits(4);
  EXPECT_EQ(*SecAggTaskCodeBits(s), 4);
  for (uint32_t bits : {1u, 2u, 5u, 16u, 300u}) {
    s.set_code_bits(bits);
    const absl::Status refused = SecAggTaskCodeBits(s).status();
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << bits;
    EXPECT_NE(refused.message().find("8-bit (int8) or 4-bit (int4)"), absl::string_view::npos) << refused;
  }
}

TEST(QuantizeOnSharedScaleTest, Int4CodesStayInSevenStepsAndAreUnbiased) {
  constexpr double kScale = 0.5;
  // Inside the range, across it, and far outside it on both sides.
  const std::vector<float> delta = {0.0f, 0.2f, -0.2f, 1.3f, -3.4f, 3.5f, -3.5f, 100.0f, -100.0f};
  SeededRandom rng(42);
  std::vector<double> mean(delta.size(), 0);
  constexpr int kDraws = 20000;
  for (int draw = 0; draw < kDraws; ++draw) {
    const std::vector<int8_t> codes = QuantizeOnSharedScale(delta, kScale, 4, rng);
    ASSERT_EQ(codes.size(), delta.size());
    for (size_t i = 0; i < codes.size(); ++i) {
      ASSERT_GE(codes[i], -7) << i;
      ASSERT_LE(codes[i], 7) << i;
      // Stochastic rounding picks one of the two neighbouring steps.
      const double x = std::clamp(delta[i] / kScale, -7.0, 7.0);
      ASSERT_TRUE(codes[i] == std::floor(x) || codes[i] == std::ceil(x)) << i << ": " << static_cast<int>(codes[i]);
      mean[i] += codes[i] / static_cast<double>(kDraws);
    }
  }
  for (size_t i = 0; i < delta.size(); ++i) {
    const double x = std::clamp(delta[i] / kScale, -7.0, 7.0);  // clamped beyond +-7 steps
    EXPECT_NEAR(mean[i], x, 0.02) << "element " << i;
  }
  // The same draws as int8 codes reach beyond seven steps.
  const std::vector<int8_t> wide = QuantizeOnSharedScale(delta, kScale, 8, rng);
  EXPECT_EQ(wide[7], 127);
  EXPECT_EQ(wide[8], -127);
}

TEST(SecAggExchangeTest, StartsWithInt4CodesInAnInt4Ring) {
  const proto::Task task = SecAggTaskFor(5, 4);
  const std::vector<int8_t> codes = {-7, 0, 3, 7};
  auto exchange = SecAggExchange::Start(task, "device-0", codes);
  ASSERT_TRUE(exchange.ok()) << exchange.status();
  EXPECT_EQ((*exchange)->stage(), 0);
}

TEST(SecAggExchangeTest, RefusesWhatItCannotSendFaithfully) {
  const std::vector<int8_t> int4 = {-7, 0, 3, 7};
  // A width the device does not support.
  proto::Task task = SecAggTaskFor(5, 4);
  task.mutable_secagg()->set_code_bits(5);
  auto refused = SecAggExchange::Start(task, "device-0", int4);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  // An int8 ring for int4 codes is fine (larger), an int4 ring for int8 codes is not.
  task = SecAggTaskFor(5, 8);
  task.mutable_secagg()->set_code_bits(4);
  EXPECT_TRUE(SecAggExchange::Start(task, "device-0", int4).ok());
  task = SecAggTaskFor(5, 4);
  task.mutable_secagg()->set_code_bits(8);
  refused = SecAggExchange::Start(task, "device-0", int4);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("cannot hold the sum"), absl::string_view::npos) << refused.status();
  // A code outside the int4 range.
  task = SecAggTaskFor(5, 4);
  const std::vector<int8_t> too_wide = {-7, 0, 8, 7};
  refused = SecAggExchange::Start(task, "device-0", too_wide);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("index 2"), absl::string_view::npos) << refused.status();
}

}  // namespace
}  // namespace fedge
