#include "core/update_view.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(DenseUpdateViewTest, ReportsSize) {
  const std::vector<float> v = {1, 2, 3};
  EXPECT_EQ(DenseUpdateView(v).size(), 3);
  EXPECT_EQ(DenseUpdateView({}).size(), 0);
}

TEST(DenseUpdateViewTest, AccumulateIntoAddsWeightedValues) {
  const std::vector<float> v = {1.0f, -2.0f, 0.5f};
  std::vector<float> acc = {10.0f, 10.0f, 10.0f};
  const DenseUpdateView view(v);
  view.AccumulateInto(absl::MakeSpan(acc), 2.0f);
  EXPECT_EQ(acc, (std::vector<float>{12.0f, 6.0f, 11.0f}));
  view.AccumulateInto(absl::MakeSpan(acc), -1.0f);
  EXPECT_EQ(acc, (std::vector<float>{11.0f, 8.0f, 10.5f}));
}

TEST(DenseUpdateViewTest, DecodeIntoCopiesValues) {
  const std::vector<float> v = {1.5f, -0.0f, 3.25f};
  std::vector<float> out(3, 99.0f);
  DenseUpdateView(v).DecodeInto(absl::MakeSpan(out));
  EXPECT_EQ(out, v);
  EXPECT_TRUE(std::signbit(out[1]));
}

TEST(DenseUpdateViewTest, SquaredNormMatchesValues) {
  const std::vector<float> v = {3.0f, 4.0f, 12.0f};
  EXPECT_DOUBLE_EQ(DenseUpdateView(v).SquaredNorm(), 169.0);
}

TEST(DenseUpdateViewTest, SquaredNormIsNonFiniteExactlyForNonFiniteValues) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    const std::vector<float> v = {1.0f, bad, 2.0f};
    EXPECT_FALSE(std::isfinite(DenseUpdateView(v).SquaredNorm())) << bad;
  }
  // Large but finite values must not overflow to infinity.
  const std::vector<float> big(1000, std::numeric_limits<float>::max());
  EXPECT_TRUE(std::isfinite(DenseUpdateView(big).SquaredNorm()));
}

TEST(DenseUpdateViewTest, WorksThroughTheInterface) {
  const std::vector<float> v = {2.0f};
  const DenseUpdateView dense(v);
  const UpdateView& view = dense;
  std::vector<float> acc = {1.0f};
  view.AccumulateInto(absl::MakeSpan(acc), 0.5f);
  EXPECT_EQ(acc[0], 2.0f);
}

}  // namespace
}  // namespace fedge
