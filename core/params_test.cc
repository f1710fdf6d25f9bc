#include "core/params.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(TensorSpecTest, NumElementsIsProductOfDims) {
  EXPECT_EQ((TensorSpec{"w", {3, 4, 5}}).num_elements(), 60);
  EXPECT_EQ((TensorSpec{"scalar", {}}).num_elements(), 1);
}

TEST(ParamLayoutTest, ComputesOffsetsAndTotal) {
  auto layout = ParamLayout::Create({{"conv.weight", {16, 1, 5, 5}}, {"conv.bias", {16}}, {"fc.weight", {10, 4}}});
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->tensors().size(), 3u);
  EXPECT_EQ(layout->offset(0), 0);
  EXPECT_EQ(layout->offset(1), 400);
  EXPECT_EQ(layout->offset(2), 416);
  EXPECT_EQ(layout->num_elements(), 456);
  EXPECT_EQ(layout->tensors()[1].name, "conv.bias");
}

TEST(ParamLayoutTest, EmptyLayoutIsValid) {
  auto layout = ParamLayout::Create({});
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->num_elements(), 0);
}

TEST(ParamLayoutTest, IdIsStableAndDependsOnNamesAndShapes) {
  const std::vector<TensorSpec> specs = {{"a", {2, 3}}, {"b", {4}}};
  const uint64_t id = ParamLayout::Create(specs)->id();
  EXPECT_EQ(ParamLayout::Create(specs)->id(), id);
  EXPECT_NE(id, 0u);
  // The id crosses the wire between devices and coordinator, so it must not
  // change between builds: this golden value pins the FNV-1a definition.
  EXPECT_EQ(id, 0xe7950d70c5f9cdb7ull) << std::hex << id;

  EXPECT_NE(ParamLayout::Create({{"a", {3, 2}}, {"b", {4}}})->id(), id);   // transposed shape
  EXPECT_NE(ParamLayout::Create({{"a", {6}}, {"b", {4}}})->id(), id);      // same count, other rank
  EXPECT_NE(ParamLayout::Create({{"a", {2, 3}}, {"c", {4}}})->id(), id);   // renamed
  EXPECT_NE(ParamLayout::Create({{"b", {4}}, {"a", {2, 3}}})->id(), id);   // reordered
  // Name/shape boundaries are unambiguous: "ab" + {} is not "a" + "b" + {}.
  EXPECT_NE(ParamLayout::Create({{"ab", {1}}})->id(), ParamLayout::Create({{"a", {1}}, {"b", {}}})->id());
}

TEST(ParamLayoutTest, EqualityFollowsContents) {
  const std::vector<TensorSpec> specs = {{"a", {2, 3}}};
  EXPECT_EQ(*ParamLayout::Create(specs), *ParamLayout::Create(specs));
  EXPECT_FALSE(*ParamLayout::Create(specs) == *ParamLayout::Create({{"a", {3, 2}}}));
}

TEST(ParamLayoutTest, RejectsEmptyAndDuplicateNames) {
  EXPECT_EQ(ParamLayout::Create({{"", {1}}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParamLayout::Create({{"a", {1}}, {"a", {2}}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParamLayoutTest, RejectsNonPositiveDimensions) {
  EXPECT_EQ(ParamLayout::Create({{"a", {2, 0}}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParamLayout::Create({{"a", {-1}}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ModelParamsTest, ValidateChecksValueCount) {
  ModelParams params;
  params.layout = *ParamLayout::Create({{"w", {2, 2}}});
  params.values.assign(4, 0.0f);
  EXPECT_TRUE(params.Validate().ok());
  params.values.push_back(1.0f);
  EXPECT_EQ(params.Validate().code(), absl::StatusCode::kInvalidArgument);
  params.values.resize(3);
  EXPECT_EQ(params.Validate().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SquaredNormTest, SumsSquaresInDouble) {
  const std::vector<float> v = {3.0f, -4.0f};
  EXPECT_DOUBLE_EQ(SquaredNorm(v), 25.0);
  EXPECT_DOUBLE_EQ(SquaredNorm({}), 0.0);
  // FLT_MAX^2 overflows float but not double.
  const std::vector<float> big = {std::numeric_limits<float>::max(), std::numeric_limits<float>::max()};
  const double m = std::numeric_limits<float>::max();
  EXPECT_DOUBLE_EQ(SquaredNorm(big), 2 * m * m);
  // Accumulating 2^24 + 1 ones in float would stall at 2^24.
  const std::vector<float> ones((1 << 24) + 1, 1.0f);
  EXPECT_DOUBLE_EQ(SquaredNorm(ones), (1 << 24) + 1.0);
}

}  // namespace
}  // namespace fedge
