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

TEST(UpdateChecksTest, RejectsEmptyAndWrongSizedUpdates) {
  std::vector<float> empty;
  EXPECT_EQ(CheckUpdate(DenseUpdateView(empty), 1, {}).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> v = {1, 2, 3};
  auto wrong = CheckUpdate(DenseUpdateView(v), 1, {.expected_elements = 4});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("4"), absl::string_view::npos);
  EXPECT_TRUE(CheckUpdate(DenseUpdateView(v), 1, {.expected_elements = 3}).ok());
}

TEST(UpdateChecksTest, MessagesSayWhatToFix) {
  std::vector<float> v = {3, 4};
  auto zero = CheckUpdate(DenseUpdateView(v), 0, {});
  EXPECT_NE(zero.status().message().find("at least one example"), absl::string_view::npos);
  auto big = CheckUpdate(DenseUpdateView(v), 1, {.max_l2_norm = 1});
  EXPECT_NE(big.status().message().find("update_clip_norm"), absl::string_view::npos);
}

TEST(UpdateChecksTest, RejectsInvalidLimits) {
  EXPECT_TRUE(ValidateUpdateLimits({}).ok());
  EXPECT_EQ(ValidateUpdateLimits({.max_l2_norm = -1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateUpdateLimits({.max_l2_norm = std::numeric_limits<double>::quiet_NaN()}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateUpdateLimits({.expected_elements = -3}).code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> v = {1};
  EXPECT_FALSE(CheckUpdate(DenseUpdateView(v), 1, {.max_l2_norm = -1}).ok());
}

}  // namespace
}  // namespace fedge
