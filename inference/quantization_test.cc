#include "inference/quantization.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(QuantizeMultiplierTest, NormalisedAndAccurate) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> log_real(-20.0, 14.0);
  for (int i = 0; i < 2000; ++i) {
    const double real = std::exp2(log_real(rng));
    absl::StatusOr<QuantizedMultiplier> m = QuantizeMultiplier(real);
    ASSERT_TRUE(m.ok()) << real;
    EXPECT_GE(m->multiplier, int32_t{1} << 30);
    const double back = m->multiplier * std::exp2(m->shift - 31);
    EXPECT_NEAR(back / real, 1.0, std::exp2(-30)) << real;
  }
}

TEST(QuantizeMultiplierTest, EdgeCases) {
  EXPECT_EQ(QuantizeMultiplier(0.0)->multiplier, 0);
  EXPECT_EQ(QuantizeMultiplier(1e-12)->multiplier, 0);  // below 2^-32: underflows
  EXPECT_EQ(QuantizeMultiplier(0.5)->multiplier, int32_t{1} << 30);
  EXPECT_EQ(QuantizeMultiplier(0.5)->shift, 0);
  // Rounds up to exactly 2^31: must renormalise.
  const QuantizedMultiplier almost_one = *QuantizeMultiplier(1.0 - 1e-12);
  EXPECT_EQ(almost_one.multiplier, int32_t{1} << 30);
  EXPECT_EQ(almost_one.shift, 1);
  EXPECT_EQ(QuantizeMultiplier(-0.1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeMultiplier(std::nan("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(QuantizeMultiplier(kMaxRealMultiplier).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FixedPointTest, RoundingPrimitives) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(int32_t{1} << 30, int32_t{1} << 30), int32_t{1} << 29);
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);  // -2.5 -> -3
  EXPECT_EQ(RoundingDivideByPOT(4, 1), 2);
  EXPECT_EQ(RoundingDivideByPOT(-3, 1), -2);  // -1.5 -> -2
  EXPECT_EQ(RoundingDivideByPOT(-1, 2), 0);   // -0.25 -> 0
  EXPECT_EQ(RoundingDivideByPOT(7, 0), 7);
}

// Requantisation must match round(x * real) within 1 LSB.
TEST(FixedPointTest, RequantisationMatchesFloatWithinOneLsb) {
  std::mt19937_64 rng(2);
  std::uniform_int_distribution<int32_t> acc(-(1 << 22), 1 << 22);
  std::uniform_real_distribution<double> log_real(-16.0, 3.0);
  for (int i = 0; i < 20000; ++i) {
    const int32_t x = acc(rng);
    const double real = std::exp2(log_real(rng));
    const QuantizedMultiplier m = *QuantizeMultiplier(real);
    const double expected = std::round(x * real);
    if (std::fabs(expected) > 1e9) continue;
    EXPECT_LE(std::fabs(MultiplyByQuantizedMultiplier(x, m) - expected), 1.0) << x << " * " << real;
  }
}

TEST(FixedPointTest, LeftShiftSaturates) {
  const QuantizedMultiplier m = *QuantizeMultiplier(1000.0);
  EXPECT_GT(m.shift, 0);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(std::numeric_limits<int32_t>::max() / 2, m),
            MultiplyByQuantizedMultiplier(std::numeric_limits<int32_t>::max(), m));
}

TEST(QuantizeWeightsTest, PerChannelErrorBound) {
  std::mt19937_64 rng(3);
  const int channels = 7;
  const int per_channel = 50;
  std::vector<float> w(channels * per_channel);
  for (int c = 0; c < channels; ++c) {
    std::normal_distribution<float> dist(0.0f, 0.01f * (c + 1) * (c + 1));  // very different ranges
    for (int i = 0; i < per_channel; ++i) w[c * per_channel + i] = dist(rng);
  }
  const PerChannelWeights q = *QuantizeWeightsPerChannel(w, channels);
  ASSERT_EQ(q.scales.size(), static_cast<size_t>(channels));
  for (int c = 0; c < channels; ++c) {
    int max_q = 0;
    for (int i = 0; i < per_channel; ++i) {
      const int8_t v = q.values[c * per_channel + i];
      EXPECT_GE(v, -127);
      EXPECT_LE(std::fabs(w[c * per_channel + i] - q.scales[c] * v), q.scales[c] * 0.5001f);
      max_q = std::max(max_q, std::abs(int{v}));
    }
    EXPECT_EQ(max_q, 127);  // the largest magnitude uses the full range
  }
}

TEST(QuantizeWeightsTest, RejectsBadInput) {
  EXPECT_FALSE(QuantizeWeightsPerChannel(std::vector<float>(10, 1.0f), 3).ok());
  EXPECT_FALSE(QuantizeWeightsPerChannel(std::vector<float>(10, 1.0f), 0).ok());
  EXPECT_FALSE(QuantizeWeightsPerChannel({1.0f, std::nanf("")}, 1).ok());
  const PerChannelWeights zeros = *QuantizeWeightsPerChannel(std::vector<float>(4, 0.0f), 2);
  EXPECT_EQ(zeros.scales[0], 1.0f);
  EXPECT_EQ(zeros.values[0], 0);
}

TEST(QuantizeBiasTest, ScaleIsInputTimesWeightScale) {
  const std::vector<float> bias = {0.5f, -1.25f};
  const std::vector<float> ws = {0.01f, 0.002f};
  const std::vector<int32_t> q = *QuantizeBias(bias, 0.1f, ws);
  EXPECT_EQ(q[0], 500);
  EXPECT_EQ(q[1], -6250);
  EXPECT_FALSE(QuantizeBias(bias, 0.1f, {0.01f}).ok());
  EXPECT_FALSE(QuantizeBias(bias, 0.0f, ws).ok());
}

TEST(ActivationQuantTest, RoundTripWithinHalfStep) {
  const ActivationQuant q = *ChooseActivationQuant(-1.5f, 4.0f);
  EXPECT_EQ(QuantizeValue(0.0f, q), q.zero_point);  // zero is exact
  for (float x = -1.5f; x <= 4.0f; x += 0.01f) {
    EXPECT_LE(std::fabs(DequantizeValue(QuantizeValue(x, q), q) - x), q.scale * 0.5001f) << x;
  }
  EXPECT_EQ(QuantizeValue(100.0f, q), 127);  // saturates
  EXPECT_EQ(QuantizeValue(-100.0f, q), -128);
  EXPECT_EQ(ChooseActivationQuant(0.5f, 3.0f)->zero_point, -128);  // range widened to include 0
  EXPECT_EQ(ChooseActivationQuant(-3.0f, -1.0f)->zero_point, 127);
  EXPECT_FALSE(ChooseActivationQuant(2.0f, 1.0f).ok());
}

}  // namespace
}  // namespace fedge
