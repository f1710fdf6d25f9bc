// The three DataSource implementations: IDX images, a CSV file, a spool
// directory that receives files while it is being read.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/data/csv_source.h"
#include "client/data/idx_source.h"
#include "client/data/spool_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh directory under the test's temporary directory.
std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / ("fedge_sources_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Writes under a hidden name and renames, as a spool producer must.
void Publish(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string tmp = dir + "/." + name + ".tmp";
  WriteFile(tmp, text);
  fs::rename(tmp, dir + "/" + name);
}

CsvFormat TwoFeatures() {
  CsvFormat f;
  f.num_features = 2;
  f.num_classes = 3;
  return f;
}

TEST(IdxSourceTest, HandsOutTheSelectedImagesOnce) {
  ImageDataset data;
  data.num_examples = 3;
  data.rows = 2;
  data.cols = 2;
  data.images = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
  data.labels = {7, 8, 9};
  auto source = IdxSource::Create(data, {2, 0}, "shard");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->dim(), 4);
  std::vector<SourceExample> out;
  EXPECT_EQ(*(*source)->Poll(1, &out), 1);
  EXPECT_FALSE((*source)->exhausted());
  EXPECT_EQ(*(*source)->Poll(10, &out), 1);
  EXPECT_TRUE((*source)->exhausted());
  EXPECT_EQ(*(*source)->Poll(10, &out), 0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[0].bytes, ElementsAre(20, 21, 22, 23));
  EXPECT_EQ(out[0].label, 9);
  EXPECT_THAT(out[1].bytes, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ((*source)->stats().examples, 2u);
  EXPECT_THAT(IdxSource::Create(data, {3}, "shard").status().message(), HasSubstr("index 3 is outside"));
}

TEST(IdxSourceTest, TakesOverAWholeSelection) {
  ImageDataset data;
  data.num_examples = 2;
  data.rows = 1;
  data.cols = 2;
  data.images = {5, 6, 7, 8};
  data.labels = {1, 2};
  auto source = IdxSource::Create(data, "selection");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->num_examples(), 2);
  std::vector<SourceExample> out;
  EXPECT_EQ(*(*source)->Poll(10, &out), 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(out[1].bytes, ElementsAre(7, 8));
  EXPECT_EQ(out[1].label, 2);
  data.labels.pop_back();
  EXPECT_THAT(IdxSource::Create(data, "bad").status().message(), HasSubstr("sizes disagree"));
  EXPECT_THAT(IdxSource::Create(ImageDataset{}, "empty").status().message(), HasSubstr("no examples"));
}

TEST(CsvSourceTest, ReadsInChunksAndSkipsBadRowsNamingFileAndLine) {
  const std::string dir = FreshDir("csv");
  const std::string path = dir + "/sensor.csv";
  WriteFile(path, "0.1,0.2,0\n0.3,oops,1\n0.5,0.6,2\n0.7,0.8,9\n0.9,1.0,1\n");
  std::vector<std::string> problems;
  auto source = CsvSource::Open(path, TwoFeatures(), [&](std::string_view m) { problems.emplace_back(m); });
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<SourceExample> out;
  EXPECT_EQ(*(*source)->Poll(2, &out), 2);
  EXPECT_FALSE((*source)->exhausted());
  EXPECT_EQ(*(*source)->Poll(10, &out), 1);
  EXPECT_TRUE((*source)->exhausted());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_THAT(out[2].features, ElementsAre(0.9f, 1.0f));
  EXPECT_EQ((*source)->stats().bad_rows, 2u);
  EXPECT_EQ((*source)->stats().files_read, 1u);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0], HasSubstr(path + ":2: column 2: 'oops' is not a number"));
  EXPECT_THAT(problems[1], HasSubstr(path + ":4: column 3: label 9 is outside [0, 3)"));
  EXPECT_TRUE(fs::exists(path));  // a CSV source never deletes its file
}

TEST(CsvSourceTest, MissingFileSaysWhichKey) {
  auto source = CsvSource::Open("/nonexistent/x.csv", TwoFeatures());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(source.status().message(), HasSubstr("data.path"));
}

TEST(SpoolSourceTest, PicksUpFilesAddedLaterInNameOrderAndDeletesThem) {
  const std::string dir = FreshDir("spool");
  auto source = SpoolSource::Open({.dir = dir, .format = TwoFeatures()}, [](std::string_view) {});
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<SourceExample> out;
  EXPECT_EQ(*(*source)->Poll(10, &out), 0);  // nothing yet

  Publish(dir, "0002.csv", "2,2,2\n");
  Publish(dir, "0001.csv", "1,1,1\n1,1,1\n");
  WriteFile(dir + "/.0003.csv.tmp", "3,3,0\n");  // still being written: ignored
  WriteFile(dir + "/notes.txt", "3,3,0\n");      // not *.csv: ignored
  EXPECT_EQ(*(*source)->Poll(10, &out), 3);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].label, 1);  // 0001.csv first
  EXPECT_EQ(out[2].label, 2);
  EXPECT_FALSE(fs::exists(dir + "/0001.csv"));
  EXPECT_FALSE(fs::exists(dir + "/0002.csv"));
  EXPECT_EQ((*source)->stats().files_read, 2u);

  // Read once: a later file is picked up, the consumed ones never again.
  Publish(dir, "0003.csv", "3,3,0\n");
  out.clear();
  EXPECT_EQ(*(*source)->Poll(10, &out), 1);
  EXPECT_THAT(out[0].features, ElementsAre(3.0f, 3.0f));
  EXPECT_EQ(*(*source)->Poll(10, &out), 0);
  EXPECT_FALSE((*source)->exhausted());
}

TEST(SpoolSourceTest, ReadsALargeFileAcrossPollsBeforeDeletingIt) {
  const std::string dir = FreshDir("spool_chunks");
  auto source = SpoolSource::Open({.dir = dir, .format = TwoFeatures()}, [](std::string_view) {});
  ASSERT_TRUE(source.ok());
  Publish(dir, "a.csv", "1,1,0\n2,2,0\n3,3,0\n");
  std::vector<SourceExample> out;
  EXPECT_EQ(*(*source)->Poll(2, &out), 2);
  EXPECT_TRUE(fs::exists(dir + "/a.csv"));  // not finished: kept
  EXPECT_EQ(*(*source)->Poll(2, &out), 1);
  EXPECT_FALSE(fs::exists(dir + "/a.csv"));
}

TEST(SpoolSourceTest, RefusesOversizedFilesAndReportsBadRows) {
  const std::string dir = FreshDir("spool_limits");
  std::vector<std::string> problems;
  auto source = SpoolSource::Open({.dir = dir, .format = TwoFeatures(), .max_file_bytes = 32},
                                  [&](std::string_view m) { problems.emplace_back(m); });
  ASSERT_TRUE(source.ok());
  Publish(dir, "big.csv", std::string(100, '1'));
  Publish(dir, "ok.csv", "1,1,0\nnan,1,0\n1,1\n");
  std::vector<SourceExample> out;
  EXPECT_EQ(*(*source)->Poll(10, &out), 2);  // nan is a value the preprocessor repairs
  EXPECT_EQ((*source)->stats().files_rejected, 1u);
  EXPECT_EQ((*source)->stats().bad_rows, 1u);
  EXPECT_TRUE(fs::exists(dir + "/big.csv.rejected"));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_THAT(problems[0], HasSubstr("big.csv: 100 bytes is more than the spool's limit of 32"));
  EXPECT_THAT(problems[1], HasSubstr("ok.csv:3: expected 3 columns"));
  EXPECT_EQ(SpoolSource::Open({.dir = dir + "/missing", .format = TwoFeatures()}, nullptr).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fedge
