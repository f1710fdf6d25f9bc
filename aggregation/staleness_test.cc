#include "aggregation/staleness.h"

#include <vector>

#include "aggregation/fedavg.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(StalenessWeightTest, IsOneWhenFreshAndPolynomialAfter) {
  EXPECT_DOUBLE_EQ(StalenessWeight(0, 0.5), 1.0);
  EXPECT_DOUBLE_EQ(StalenessWeight(3, 0.5), 0.5);  // (1+3)^-0.5
  EXPECT_DOUBLE_EQ(StalenessWeight(1, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(StalenessWeight(7, 0.0), 1.0);  // a = 0: no discount
}

TEST(StalenessWeightTest, NeverExceedsOneAndDecreases) {
  double previous = 1.0;
  for (int64_t s = 0; s < 50; ++s) {
    const double w = StalenessWeight(s, 0.7);
    EXPECT_LE(w, 1.0);
    EXPECT_GT(w, 0.0);
    if (s > 0) {
      EXPECT_LT(w, previous);
    }
    previous = w;
  }
}

TEST(StalenessOptionsTest, RefusesNegativeOrNonFiniteValues) {
  EXPECT_TRUE(StalenessOptions{}.Validate().ok());
  EXPECT_FALSE(StalenessOptions{.exponent = -0.1}.Validate().ok());
  EXPECT_FALSE(StalenessOptions{.exponent = std::nan("")}.Validate().ok());
  absl::Status bad = StalenessOptions{.max_staleness = -1}.Validate();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("max_staleness"), std::string_view::npos);
}

TEST(ScaledUpdateViewTest, ScalesEveryMethod) {
  const std::vector<float> values = {2, -4, 6};
  DenseUpdateView dense(values);
  ScaledUpdateView view(&dense, 0.5);
  EXPECT_EQ(view.size(), 3);
  EXPECT_DOUBLE_EQ(view.SquaredNorm(), 0.25 * (4 + 16 + 36));
  std::vector<float> out(3);
  view.DecodeInto(absl::MakeSpan(out));
  EXPECT_EQ(out, (std::vector<float>{1, -2, 3}));
  std::vector<float> acc = {1, 1, 1};
  view.AccumulateInto(absl::MakeSpan(acc), 2.0f);
  EXPECT_EQ(acc, (std::vector<float>{3, -3, 7}));
}

// FedBuff's step with FedAvg: a stale update pulls the mean less than a fresh
// one of the same size and example count.
TEST(ScaledUpdateViewTest, StaleUpdateMovesTheFedAvgMeanLess) {
  FedAvg fedavg;
  const std::vector<float> fresh = {1, 1};
  const std::vector<float> stale = {-1, -1};
  DenseUpdateView fresh_view(fresh), stale_inner(stale);
  ScaledUpdateView stale_view(&stale_inner, StalenessWeight(3, 1.0));  // 0.25
  auto round = fedavg.BeginRound(2);
  ASSERT_TRUE(round->Add(fresh_view, 10).ok());
  ASSERT_TRUE(round->Add(stale_view, 10).ok());
  absl::StatusOr<std::vector<float>> delta = round->Finish();
  ASSERT_TRUE(delta.ok()) << delta.status();
  EXPECT_NEAR((*delta)[0], (1 - 0.25) / 2, 1e-6);
  EXPECT_NEAR((*delta)[1], (1 - 0.25) / 2, 1e-6);
}

}  // namespace
}  // namespace fedge
