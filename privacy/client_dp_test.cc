#include "privacy/client_dp.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "core/params.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

constexpr uint64_t kSeed = 20240611;

ClientDpOptions FixedOptions(double clip, double noise) {
  return {.clip_norm = clip, .noise_multiplier = noise, .device_sampling_rate = 0.01};
}

std::unique_ptr<ClientDp> MakeDp(const ClientDpOptions& options, SecureRandom* rng) {
  absl::StatusOr<std::unique_ptr<ClientDp>> dp = ClientDp::Create(options, rng);
  EXPECT_TRUE(dp.ok()) << dp.status();
  return dp.ok() ? std::move(*dp) : nullptr;
}

// A random direction scaled to `norm`.
std::vector<float> RandomUpdate(SeededRandom& gen, size_t dim, double norm) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dim);
  for (float& x : v) x = normal(gen);
  const double scale = norm / std::sqrt(SquaredNorm(v));
  for (float& x : v) x = static_cast<float>(x * scale);
  return v;
}

TEST(ClientDpTest, ClippedContributionsNeverExceedClipNorm) {
  SeededRandom gen(kSeed);
  std::uniform_int_distribution<size_t> dim(1, 300);
  std::lognormal_distribution<double> log_norm(0.0, 2.0);
  for (int trial = 0; trial < 2000; ++trial) {
    const double clip = log_norm(gen);
    const std::vector<float> update = RandomUpdate(gen, dim(gen), log_norm(gen));
    const double norm = std::sqrt(SquaredNorm(update));
    std::vector<float> contribution(update.size(), 0.0f);
    const double factor = ClipFactor(norm, clip);
    DenseUpdateView(update).AccumulateInto(absl::MakeSpan(contribution), static_cast<float>(factor));
    EXPECT_LE(std::sqrt(SquaredNorm(contribution)), clip) << "trial " << trial;
    if (norm <= clip) {
      EXPECT_EQ(factor, 1.0);
    } else {
      EXPECT_NEAR(std::sqrt(SquaredNorm(contribution)), clip, clip * 1e-5);
    }
  }
}

TEST(ClientDpTest, AccumulatorClipsEachUpdateBeforeSumming) {
  DeterministicRandom rng(kSeed);
  std::unique_ptr<ClientDp> dp = MakeDp(FixedOptions(1.0, 0.5), &rng);
  std::unique_ptr<ClientDpAccumulator> acc = dp->BeginRound(3);
  const std::vector<float> big = {30, 40, 0};     // norm 50 -> scaled to 1
  const std::vector<float> small = {0, 0, 0.5};  // inside the ball
  ASSERT_TRUE(acc->Add(big).ok());
  ASSERT_TRUE(acc->Add(DenseUpdateView(small)).ok());
  EXPECT_EQ(acc->num_updates(), 2);
  EXPECT_EQ(acc->num_unclipped(), 1);
  EXPECT_EQ(acc->norms(), (std::vector<double>{50.0, 0.5}));
  absl::StatusOr<std::vector<float>> mean = acc->Finish(1);
  ASSERT_TRUE(mean.ok());
  // Replay the same noise stream to remove the noise exactly.
  DeterministicRandom replay(kSeed);
  std::vector<float> noise(3, 0.0f);
  replay.AddGaussianNoise(absl::MakeSpan(noise), 0.5 * 1.0);
  const std::vector<float> expected = {0.6f, 0.8f, 0.5f};
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR((*mean)[i] - noise[i], expected[i], 1e-5) << i;
}

// A checkpointed round restores the clipped sum, the unclipped count and
// the norms; a state saved under another clip norm is refused.
TEST(ClientDpTest, AccumulatorStateRestoresTheRound) {
  DeterministicRandom rng(kSeed);
  std::unique_ptr<ClientDp> dp = MakeDp(FixedOptions(1.0, 0.5), &rng);
  std::unique_ptr<ClientDpAccumulator> saved = dp->BeginRound(3);
  ASSERT_TRUE(saved->Add(std::vector<float>{30, 40, 0}).ok());
  ASSERT_TRUE(saved->Add(std::vector<float>{0, 0, 0.5}).ok());
  std::unique_ptr<ClientDpAccumulator> restored = dp->BeginRound(3);
  ASSERT_TRUE(restored->RestoreState(saved->SaveState()).ok());
  EXPECT_EQ(restored->num_updates(), 2);
  EXPECT_EQ(restored->num_unclipped(), 1);
  EXPECT_EQ(restored->norms(), saved->norms());
  EXPECT_EQ(restored->SaveState().sum, saved->SaveState().sum);

  std::unique_ptr<ClientDp> other = MakeDp(FixedOptions(2.0, 0.5), &rng);
  EXPECT_EQ(other->BeginRound(3)->RestoreState(saved->SaveState()).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(dp->BeginRound(4)->RestoreState(saved->SaveState()).code(), absl::StatusCode::kDataLoss);
}

TEST(ClientDpTest, NoiseOnSumHasStatedStandardDeviation) {
  constexpr size_t kDim = 200'000;
  for (const int64_t expected_clients : {1, 8}) {
    DeterministicRandom rng(kSeed + expected_clients);
    std::unique_ptr<ClientDp> dp = MakeDp(FixedOptions(2.0, 1.5), &rng);
    absl::StatusOr<std::vector<float>> out = dp->BeginRound(kDim)->Finish(expected_clients);
    ASSERT_TRUE(out.ok());
    double sum = 0, sq = 0;
    for (const float v : *out) {
      sum += v;
      sq += static_cast<double>(v) * v;
    }
    const double mean = sum / kDim, stddev = std::sqrt(sq / kDim - mean * mean);
    const double want = 1.5 * 2.0 / static_cast<double>(expected_clients);
    // Sample std of 2e5 normals has relative sd 1/sqrt(4e5) ≈ 0.0016.
    EXPECT_NEAR(stddev, want, want * 0.01);
    EXPECT_NEAR(mean, 0.0, want * 0.01);
  }
}

TEST(ClientDpTest, DividesByExpectedNotReceivedClients) {
  DeterministicRandom rng(kSeed);
  std::unique_ptr<ClientDp> dp = MakeDp(FixedOptions(10.0, 1e-9), &rng);
  std::unique_ptr<ClientDpAccumulator> acc = dp->BeginRound(2);
  for (const std::vector<float>& u : {std::vector<float>{1, 2}, {3, 4}, {5, 0}}) ASSERT_TRUE(acc->Add(u).ok());
  absl::StatusOr<std::vector<float>> mean = acc->Finish(10);
  ASSERT_TRUE(mean.ok());
  EXPECT_NEAR((*mean)[0], 9.0 / 10, 1e-6);
  EXPECT_NEAR((*mean)[1], 6.0 / 10, 1e-6);
  EXPECT_EQ(dp->rounds(), 1);
}

// Norms uniform on [0, 10]: the γ-quantile is 10γ. Starting far below and far
// above, the geometric update must settle near it.
TEST(ClientDpTest, AdaptiveClippingTracksTargetQuantile) {
  constexpr int kClients = 100, kRounds = 150;
  for (const double target : {0.5, 0.9}) {
    for (const double start : {0.1, 100.0}) {
      DeterministicRandom rng(kSeed);
      SeededRandom gen(kSeed);
      std::uniform_real_distribution<double> norm(0.0, 10.0);
      ClientDpOptions options = FixedOptions(start, 1.0);
      options.adaptive = true;
      options.target_quantile = target;
      options.clip_learning_rate = 0.2;
      options.count_noise = kClients / 20.0;
      std::unique_ptr<ClientDp> dp = MakeDp(options, &rng);
      double late_log_sum = 0;
      for (int round = 0; round < kRounds; ++round) {
        std::unique_ptr<ClientDpAccumulator> acc = dp->BeginRound(4);
        for (int c = 0; c < kClients; ++c) ASSERT_TRUE(acc->Add(RandomUpdate(gen, 4, norm(gen))).ok());
        ASSERT_TRUE(acc->Finish(kClients).ok());
        EXPECT_TRUE(std::isfinite(acc->noised_unclipped_fraction()));
        if (round >= kRounds - 50) late_log_sum += std::log(dp->clip_norm());
      }
      const double late_clip = std::exp(late_log_sum / 50);
      EXPECT_NEAR(late_clip, 10 * target, 10 * target * 0.15) << "target " << target << " start " << start;
    }
  }
}

TEST(ClientDpTest, AdaptiveClippingSplitsNoiseMultiplier) {
  DeterministicRandom rng(kSeed);
  ClientDpOptions options = FixedOptions(1.0, 1.0);
  EXPECT_EQ(MakeDp(options, &rng)->sum_noise_multiplier(), 1.0);
  options.adaptive = true;
  options.count_noise = 5.0;
  EXPECT_NEAR(MakeDp(options, &rng)->sum_noise_multiplier(), 1 / std::sqrt(1 - 1 / 100.0), 1e-12);
  options.count_noise = 0.5;  // (2σ_b)⁻² = z⁻²: nothing left for the sum
  EXPECT_EQ(ClientDp::Create(options, &rng).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClientDpTest, AccountsOneStepPerRound) {
  DeterministicRandom rng(kSeed);
  std::unique_ptr<ClientDp> dp = MakeDp(FixedOptions(1.0, 1.0), &rng);
  for (int round = 0; round < 1000; ++round) ASSERT_TRUE(dp->BeginRound(0)->Finish(1).ok());
  absl::StatusOr<PrivacyGuarantee> g = dp->Epsilon(1e-5);
  ASSERT_TRUE(g.ok());
  EXPECT_NEAR(g->epsilon, 2.1013652716432, 1e-6);
}

TEST(ClientDpTest, RejectsInvalidOptionsAndUpdates) {
  DeterministicRandom rng(kSeed);
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(ClientDp::Create(FixedOptions(0.0, 1.0), &rng).status().code(), kInvalid);
  EXPECT_EQ(ClientDp::Create(FixedOptions(1.0, 0.0), &rng).status().code(), kInvalid);
  EXPECT_EQ(ClientDp::Create(FixedOptions(1.0, 1.0), nullptr).status().code(), kInvalid);
  ClientDpOptions options = FixedOptions(1.0, 1.0);
  options.device_sampling_rate = 0;
  EXPECT_EQ(ClientDp::Create(options, &rng).status().code(), kInvalid);
  options = FixedOptions(1.0, 1.0);
  options.adaptive = true;
  options.count_noise = 5;
  options.target_quantile = 1.5;
  EXPECT_EQ(ClientDp::Create(options, &rng).status().code(), kInvalid);

  std::unique_ptr<ClientDp> dp = MakeDp(FixedOptions(1.0, 1.0), &rng);
  std::unique_ptr<ClientDpAccumulator> acc = dp->BeginRound(2);
  EXPECT_EQ(acc->Add(std::vector<float>{1, 2, 3}).code(), kInvalid);
  EXPECT_EQ(acc->Add(std::vector<float>{1, std::numeric_limits<float>::quiet_NaN()}).code(), kInvalid);
  EXPECT_EQ(acc->num_updates(), 0);
  EXPECT_EQ(acc->Finish(0).status().code(), kInvalid);
  ASSERT_TRUE(acc->Finish(3).ok());
  EXPECT_EQ(acc->Finish(3).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(acc->Add(std::vector<float>{1, 2}).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fedge
