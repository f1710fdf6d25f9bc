#include "core/layout_check.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

ParamLayout Layout(std::vector<TensorSpec> specs) { return *ParamLayout::Create(std::move(specs)); }

TEST(LayoutCheckTest, NamesTheFirstDifferentTensorWithBothShapes) {
  const ParamLayout a = Layout({{"0.weight", {16, 1, 5, 5}}, {"0.bias", {16}}, {"3.weight", {10, 512}}});
  const ParamLayout b = Layout({{"0.weight", {16, 1, 5, 5}}, {"0.bias", {16}}, {"3.weight", {10, 256}}});
  EXPECT_EQ(FirstLayoutDifference(a, a), "");
  EXPECT_TRUE(CheckSameLayout(a, a, "ctx").ok());
  EXPECT_EQ(FirstLayoutDifference(a, b, "ours", "theirs"),
            "tensor #2 is '3.weight' [10, 256] in theirs but '3.weight' [10, 512] in ours");
  const absl::Status s = CheckSameLayout(a, b, "device");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("device: tensor #2"));
}

TEST(LayoutCheckTest, AMissingTensorIsNamed) {
  const ParamLayout a = Layout({{"w", {2}}, {"b", {1}}});
  const ParamLayout b = Layout({{"w", {2}}});
  EXPECT_EQ(FirstLayoutDifference(a, b, "ours", "theirs"), "tensor #1 is absent (1 tensors) in theirs but 'b' [1] in ours");
}

}  // namespace
}  // namespace fedge
