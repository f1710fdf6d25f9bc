#include "core/file_util.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace fedge {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fedge_file_util_test_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(FileUtilTest, WriteCreatesParentDirectoriesAndReadsBack) {
  const std::string path = dir_ + "/a/b/c/model.bin";
  const std::string contents("binary\0data\xff", 12);
  ASSERT_TRUE(WriteFileAtomically(path, contents).ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, contents);
}

TEST_F(FileUtilTest, WriteReplacesContentsAndLeavesNoTemporaries) {
  const std::string path = dir_ + "/state.json";
  ASSERT_TRUE(WriteFileAtomically(path, "a much longer first version").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "v2").ok());
  EXPECT_EQ(*ReadFile(path), "v2");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(FileUtilTest, WritesEmptyFile) {
  const std::string path = dir_ + "/empty";
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  auto read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->empty());
}

TEST_F(FileUtilTest, ReadMissingIsNotFound) {
  EXPECT_EQ(ReadFile(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FileUtilTest, ReadDirectoryIsAnError) {
  auto read = ReadFile(dir_);
  EXPECT_FALSE(read.ok()) << "read a directory as " << read->size() << " bytes";
}

TEST_F(FileUtilTest, WriteIntoUnwritablePlaceFails) {
  // The parent "directory" is a regular file.
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/file", "x").ok());
  EXPECT_FALSE(WriteFileAtomically(dir_ + "/file/child", "y").ok());
}

}  // namespace
}  // namespace fedge
