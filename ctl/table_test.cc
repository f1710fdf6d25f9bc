#include "ctl/table.h"

#include "gtest/gtest.h"

namespace fedge::ctl {
namespace {

TEST(TableTest, PadsColumnsToTheWidestCellWithoutTrailingSpaces) {
  Table t({"ID", "STATUS"});
  t.AddRow({"dev-10", "active"});
  t.AddRow({"d", ""});
  EXPECT_EQ(t.Render(), "ID      STATUS\ndev-10  active\nd\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, ShortRowsArePaddedAndLongOnesCut) {
  Table t({"A", "B"});
  t.AddRow({"1"});
  t.AddRow({"1", "2", "3"});
  EXPECT_EQ(t.Render(), "A  B\n1\n1  2\n");
}

TEST(TableTest, KeyValuesAlignAfterTheLongestKey) {
  EXPECT_EQ(RenderKeyValues({{"round", "3"}, {"global model", "v4"}, {"empty", ""}}),
            "round:        3\nglobal model: v4\nempty:\n");
}

}  // namespace
}  // namespace fedge::ctl
