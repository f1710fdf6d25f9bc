#include "coordinator/rounds_csv_file.h"

#include <sys/stat.h>

#include <filesystem>

#include "coordinator/round_report.h"
#include "core/file_util.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

ino_t Inode(const std::string& path) {
  struct stat st = {};
  stat(path.c_str(), &st);
  return st.st_ino;
}

proto::RoundRecord Record(uint64_t round, double accuracy) {
  proto::RoundRecord r;
  r.set_round(round);
  r.set_succeeded(true);
  (*r.mutable_metrics())["test_accuracy"] = accuracy;
  return r;
}

TEST(RoundsCsvFileTest, AppendsToItsOwnPrefixAndRewritesOtherwise) {
  const std::string path = ::testing::TempDir() + "/rounds_csv_file_test.csv";
  std::filesystem::remove(path);
  std::vector<proto::RoundRecord> records = {Record(1, 0.5)};
  bool appended = true;
  ASSERT_TRUE(UpdateRoundsCsv(path, records, &appended).ok());
  EXPECT_FALSE(appended);  // a new file is written whole
  const ino_t first_inode = Inode(path);
  records.push_back(Record(2, 0.6));
  ASSERT_TRUE(UpdateRoundsCsv(path, records, &appended).ok());
  EXPECT_TRUE(appended);  // e.g. after a restart: the old rows stay, the new one is appended
  EXPECT_EQ(*ReadFile(path), RoundsToCsv(records));
  EXPECT_EQ(Inode(path), first_inode);  // the same file, not a rewritten copy
  // A new metric column changes the header: rewritten, still the full table.
  proto::RoundRecord third = Record(3, 0.7);
  (*third.mutable_metrics())["deploy_int8_accuracy"] = 0.6;
  records.push_back(third);
  ASSERT_TRUE(UpdateRoundsCsv(path, records, &appended).ok());
  EXPECT_FALSE(appended);
  EXPECT_EQ(*ReadFile(path), RoundsToCsv(records));
  // Up to date: nothing to do.
  ASSERT_TRUE(UpdateRoundsCsv(path, records, &appended).ok());
  EXPECT_TRUE(appended);
  EXPECT_EQ(*ReadFile(path), RoundsToCsv(records));
}

}  // namespace
}  // namespace fedge
