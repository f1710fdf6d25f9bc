#include "aggregation/update_checks.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

namespace fedge {
namespace {

TEST(UpdateChecksTest, DefaultsBoundNormAndExamples) {
  const UpdateLimits defaults;
  EXPECT_GT(defaults.max_l2_norm, 0);
  EXPECT_GT(defaults.max_examples, 0u);
  // An overflowing claim: one huge value with two examples.
  std::vector<float> huge = {0.9f * std::numeric_limits<float>::max()};
  EXPECT_EQ(CheckUpdate(DenseUpdateView(huge), 2, defaults).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<float> v = {3, 4};
  auto capped = CheckUpdate(DenseUpdateView(v), std::numeric_limits<uint64_t>::max(), defaults);
  ASSERT_TRUE(capped.ok());
  EXPECT_DOUBLE_EQ(capped->weight, static_cast<double>(defaults.max_examples));
}

TEST(UpdateChecksTest, CapForTaskTakesTheSmallerCap) {
  EXPECT_EQ(CapForTask({.max_examples = 600}, 0).max_examples, 600u);
  EXPECT_EQ(CapForTask({.max_examples = 600}, 100).max_examples, 100u);
  EXPECT_EQ(CapForTask({.max_examples = 600}, 1000).max_examples, 600u);
  EXPECT_EQ(CapForTask({.max_examples = 0}, 50).max_examples, 50u);
  EXPECT_EQ(CapForTask({.max_examples = 0}, 0).max_examples, 0u);
}

TEST(UpdateChecksTest, MetricsMustBeKnownFiniteAndFew) {
  EXPECT_TRUE(CheckUpdateMetrics({}).ok());
  EXPECT_TRUE(CheckUpdateMetrics({{"train_loss", 0.3}, {"update_norm", 2}, {"local_accuracy", 0.9}}).ok());
  EXPECT_FALSE(CheckUpdateMetrics({{"train_loss", std::nan("")}}).ok());
  EXPECT_FALSE(CheckUpdateMetrics({{"train_loss", std::numeric_limits<double>::infinity()}}).ok());
  EXPECT_FALSE(CheckUpdateMetrics({{"train_loss", 2 * kMaxUpdateMetricMagnitude}}).ok());
  absl::Status unknown = CheckUpdateMetrics({{"surprise", 1}});
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("surprise"), absl::string_view::npos);
  std::map<std::string, double> many;
  // (StrCat: GCC 12 warns falsely on "m" + std::to_string at -O3.)
  for (int i = 0; i <= kMaxUpdateMetrics; ++i) many[absl::StrCat("m", i)] = i;
  EXPECT_FALSE(CheckUpdateMetrics(many).ok());
}

}  // namespace
}  // namespace fedge
