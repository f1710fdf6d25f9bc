#include "aggregation/update_checks.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(UpdateChecksTest, AcceptsFiniteUpdateAndReportsNorm) {
  std::vector<float> v = {3, 4};
  auto checked = CheckUpdate(DenseUpdateView(v), 10, {});
  ASSERT_TRUE(checked.ok());
  EXPECT_DOUBLE_EQ(checked->l2_norm, 5.0);
  EXPECT_DOUBLE_EQ(checked->weight, 10.0);
}

TEST(UpdateChecksTest, RejectsNonFiniteValues) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> v = {1, bad, 2};
    EXPECT_EQ(CheckUpdate(DenseUpdateView(v), 1, {}).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(UpdateChecksTest, EnforcesNormBoundAndCapsExamples) {
  std::vector<float> v = {3, 4};
  EXPECT_FALSE(CheckUpdate(DenseUpdateView(v), 1, {.max_l2_norm = 4.9}).ok());
  auto capped = CheckUpdate(DenseUpdateView(v), 1'000'000, {.max_l2_norm = 5.1, .max_examples = 600});
  ASSERT_TRUE(capped.ok());
  EXPECT_DOUBLE_EQ(capped->weight, 600.0);
  EXPECT_FALSE(CheckUpdate(DenseUpdateView(v), 0, {}).ok());
}

}  // namespace
}  // namespace fedge
