#include "core/random.h"

#include <cmath>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(DeriveSeedTest, DeterministicAndDistinctPerStream) {
  EXPECT_EQ(DeriveSeed(42, 7), DeriveSeed(42, 7));
  std::set<uint64_t> seeds;
  for (uint64_t stream = 0; stream < 1000; ++stream) seeds.insert(DeriveSeed(42, stream));
  EXPECT_EQ(seeds.size(), 1000u);
  EXPECT_NE(DeriveSeed(42, 0), DeriveSeed(43, 0));
  // Stream 0 of base 0 must not degenerate to 0.
  EXPECT_NE(DeriveSeed(0, 0), 0u);
}

TEST(DeriveSeedTest, NeighbouringStreamsGiveUnrelatedGenerators) {
  SeededRandom a(DeriveSeed(1, 0));
  SeededRandom b(DeriveSeed(1, 1));
  int equal = 0;
  for (int i = 0; i < 100; ++i) equal += a() == b();
  EXPECT_EQ(equal, 0);
}

TEST(DeterministicRandomTest, SameSeedSameBytes) {
  DeterministicRandom a(123);
  DeterministicRandom b(123);
  DeterministicRandom c(124);
  // 13 bytes: exercises the partial final word.
  std::vector<uint8_t> x(13), y(13), z(13);
  a.Fill(absl::MakeSpan(x));
  b.Fill(absl::MakeSpan(y));
  c.Fill(absl::MakeSpan(z));
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  EXPECT_EQ(a.Uniform(), b.Uniform());
}

// Checks that `rng` yields values in [0, 1) with mean 1/2.
void ExpectUniformInUnitInterval(SecureRandom& rng) {
  double sum = 0;
  constexpr int kN = 10000;
  for (int i = 0; i < kN; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // Mean of kN uniforms has stddev 1/sqrt(12 kN) ~= 0.0029; allow 6 sigma.
  EXPECT_NEAR(sum / kN, 0.5, 0.018);
}

TEST(SecureRandomTest, UniformIsInUnitIntervalAndSpreadOut) {
  ExpectUniformInUnitInterval(*SecureRandom::Default());
  DeterministicRandom deterministic(9);
  ExpectUniformInUnitInterval(deterministic);
}

TEST(SecureRandomTest, DefaultFillsBytes) {
  std::vector<uint8_t> a(32, 0), b(32, 0);
  SecureRandom::Default()->Fill(absl::MakeSpan(a));
  SecureRandom::Default()->Fill(absl::MakeSpan(b));
  EXPECT_NE(a, b);  // fails with probability 2^-256
  SecureRandom::Default()->Fill({});  // empty span is fine
}

TEST(SecureRandomTest, GaussianNoiseHasRequestedMoments) {
  DeterministicRandom rng(2024);
  constexpr int kN = 200'000;
  constexpr double kStddev = 2.5;
  // Odd length exercises the unpaired last element; a non-zero base checks
  // that noise is added, not assigned.
  std::vector<float> v(kN + 1, 10.0f);
  rng.AddGaussianNoise(absl::MakeSpan(v), kStddev);
  double sum = 0, sum_sq = 0, sum_4 = 0;
  int beyond_3_sigma = 0;
  for (float x : v) {
    const double d = x - 10.0;
    sum += d;
    sum_sq += d * d;
    sum_4 += d * d * d * d;
    beyond_3_sigma += std::abs(d) > 3 * kStddev;
  }
  const double n = v.size();
  const double mean = sum / n;
  const double stddev = std::sqrt(sum_sq / n - mean * mean);
  // Standard errors: mean sigma/sqrt(n) ~= 0.0056, stddev sigma/sqrt(2n) ~= 0.004.
  EXPECT_NEAR(mean, 0.0, 5 * kStddev / std::sqrt(n));
  EXPECT_NEAR(stddev, kStddev, 5 * kStddev / std::sqrt(2 * n));
  // Normal kurtosis is 3 (a uniform would give 1.8).
  EXPECT_NEAR(sum_4 / n / std::pow(kStddev, 4), 3.0, 0.1);
  // P(|Z| > 3) = 0.0027: about 540 of 200k.
  EXPECT_NEAR(beyond_3_sigma, 0.0027 * n, 5 * std::sqrt(0.0027 * n));
  EXPECT_NE(v.back(), 10.0f);
}

TEST(SecureRandomTest, GaussianNoiseIsReproducibleWithDeterministicRandom) {
  std::vector<float> a(101, 0.0f), b(101, 0.0f);
  DeterministicRandom ra(5), rb(5);
  ra.AddGaussianNoise(absl::MakeSpan(a), 1.0);
  rb.AddGaussianNoise(absl::MakeSpan(b), 1.0);
  EXPECT_EQ(a, b);
}

TEST(SecureRandomTest, ZeroStddevLeavesValuesAlone) {
  std::vector<float> v = {1.0f, 2.0f, 3.0f};
  DeterministicRandom rng(1);
  rng.AddGaussianNoise(absl::MakeSpan(v), 0.0);
  EXPECT_EQ(v, (std::vector<float>{1.0f, 2.0f, 3.0f}));
}

}  // namespace
}  // namespace fedge
