#include "client/data/csv_reader.h"

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

CsvFormat ThreeFeatures() {
  CsvFormat f;
  f.num_features = 3;
  f.num_classes = 4;
  return f;
}

absl::Status Parse(std::string_view line, SourceExample* out, const CsvFormat& f = ThreeFeatures()) {
  return ParseCsvRow(line, f, out);
}

TEST(CsvRowTest, ParsesFeaturesAndLastColumnLabel) {
  SourceExample e;
  ASSERT_TRUE(Parse("1.5, -2e-1 ,+3,2", &e).ok());
  EXPECT_THAT(e.features, ElementsAre(1.5f, -0.2f, 3.0f));
  EXPECT_EQ(e.label, 2);
}

TEST(CsvRowTest, LabelColumnAndScale) {
  CsvFormat f = ThreeFeatures();
  f.label_column = 0;
  f.feature_scale = 0.5;
  f.delimiter = ';';
  SourceExample e;
  ASSERT_TRUE(Parse("3;2;4;6", &e, f).ok());
  EXPECT_THAT(e.features, ElementsAre(1.0f, 2.0f, 3.0f));
  EXPECT_EQ(e.label, 3);
}

TEST(CsvRowTest, MissingAndNonFiniteTextBecomeNonFiniteValues) {
  SourceExample e;
  ASSERT_TRUE(Parse(",NaN,-Infinity,1", &e).ok());
  EXPECT_TRUE(std::isnan(e.features[0]));
  EXPECT_TRUE(std::isnan(e.features[1]));
  EXPECT_TRUE(std::isinf(e.features[2]) && e.features[2] < 0);
}

TEST(CsvRowTest, RejectsWhatIsNotANumberOrALabel) {
  SourceExample e;
  EXPECT_THAT(Parse("1,2,3", &e).message(), HasSubstr("expected 4 columns"));
  EXPECT_THAT(Parse("1,2,3,0,5", &e).message(), HasSubstr("got 5"));
  EXPECT_THAT(Parse("1,abc,3,0", &e).message(), HasSubstr("column 2: 'abc' is not a number"));
  EXPECT_THAT(Parse("0x10,2,3,0", &e).message(), HasSubstr("not a number"));
  EXPECT_THAT(Parse("1e400,2,3,0", &e).message(), HasSubstr("out of range"));
  EXPECT_THAT(Parse("1e39,2,3,0", &e).message(), HasSubstr("beyond the float range"));
  EXPECT_THAT(Parse("1,2,3,nan", &e).message(), HasSubstr("label 'nan' is not an integer"));
  EXPECT_THAT(Parse("1,2,3,1.5", &e).message(), HasSubstr("not an integer"));
  EXPECT_THAT(Parse("1,2,3,4", &e).message(), HasSubstr("label 4 is outside [0, 4)"));
  EXPECT_THAT(Parse("1,2,3,-1", &e).message(), HasSubstr("outside"));
  EXPECT_THAT(Parse(std::string("1,2\0,3,0", 8), &e).message(), HasSubstr("not a number"));
}

TEST(CsvFormatTest, Validation) {
  EXPECT_TRUE(ValidateCsvFormat(ThreeFeatures()).ok());
  CsvFormat f = ThreeFeatures();
  f.num_features = 0;
  EXPECT_THAT(ValidateCsvFormat(f).message(), HasSubstr("num_features"));
  f = ThreeFeatures();
  f.label_column = 9;
  EXPECT_THAT(ValidateCsvFormat(f).message(), HasSubstr("label_column"));
  f = ThreeFeatures();
  f.feature_scale = 0;
  EXPECT_THAT(ValidateCsvFormat(f).message(), HasSubstr("feature_scale"));
  f = ThreeFeatures();
  f.delimiter = 'x';
  EXPECT_THAT(ValidateCsvFormat(f).message(), HasSubstr("delimiter"));
}

TEST(CsvReaderTest, SkipsBadRowsNamingFileAndLine) {
  std::istringstream in("# sensor log\nf1,f2,f3,label\n1,2,3,0\n1,2,0\n\n4,5,6,1\r\n7,x,9,2\n1,1,1,3");
  CsvFormat f = ThreeFeatures();
  f.header = false;
  DataSourceStats stats;
  std::vector<std::string> problems;
  CsvReader reader(&in, "log.csv", f, [&](std::string_view m) { problems.emplace_back(m); }, &stats);
  std::vector<SourceExample> out;
  EXPECT_EQ(reader.Read(100, &out), 3);
  EXPECT_TRUE(reader.done());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_THAT(out[1].features, ElementsAre(4.0f, 5.0f, 6.0f));
  EXPECT_EQ(out[2].label, 3);
  EXPECT_EQ(stats.bad_rows, 3u);  // the header (no header option), line 4, line 7
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_THAT(problems[0], HasSubstr("log.csv:2: column 1: 'f1' is not a number"));
  EXPECT_THAT(problems[1], HasSubstr("log.csv:4: expected 4 columns"));
  EXPECT_THAT(problems[2], HasSubstr("log.csv:7: column 2: 'x'"));
}

TEST(CsvReaderTest, HeaderAndChunks) {
  std::istringstream in("a,b,c,y\n1,2,3,0\n4,5,6,1\n7,8,9,2\n");
  CsvFormat f = ThreeFeatures();
  f.header = true;
  DataSourceStats stats;
  CsvReader reader(&in, "x.csv", f, [](std::string_view) {}, &stats);
  std::vector<SourceExample> out;
  EXPECT_EQ(reader.Read(2, &out), 2);
  EXPECT_FALSE(reader.done());
  EXPECT_EQ(reader.Read(2, &out), 1);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(stats.bad_rows, 0u);
  EXPECT_EQ(stats.examples, 3u);
}

TEST(CsvReaderTest, OverlongLinesAreSkippedWithoutBufferingThem) {
  CsvFormat f = ThreeFeatures();
  f.max_line_bytes = 16;
  std::istringstream in("1,2,3,0\n" + std::string(100000, '9') + ",1,1,0\n4,5,6,1\n" + std::string(40, '7'));
  DataSourceStats stats;
  std::vector<std::string> problems;
  CsvReader reader(&in, "big.csv", f, [&](std::string_view m) { problems.emplace_back(m); }, &stats);
  std::vector<SourceExample> out;
  EXPECT_EQ(reader.Read(10, &out), 2);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(stats.bad_rows, 2u);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0], HasSubstr("big.csv:2: line longer than 16 bytes"));
  EXPECT_THAT(problems[1], HasSubstr("big.csv:4:"));
}

TEST(CsvReaderTest, ProblemMessagesAreCappedPerFileButAllCounted) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "bad\n";
  std::istringstream in(text);
  DataSourceStats stats;
  int messages = 0;
  CsvReader reader(&in, "g.csv", ThreeFeatures(), [&](std::string_view) { ++messages; }, &stats);
  std::vector<SourceExample> out;
  EXPECT_EQ(reader.Read(1000, &out), 0);
  EXPECT_EQ(stats.bad_rows, 100u);
  EXPECT_EQ(messages, CsvReader::kMaxProblemsPerFile + 1);
}

}  // namespace
}  // namespace fedge
