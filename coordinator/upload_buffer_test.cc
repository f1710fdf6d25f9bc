#include "coordinator/upload_buffer.h"

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(UploadBufferTest, AssemblesChunksAndIgnoresReplayedRanges) {
  UploadBuffer buffer(100);
  ASSERT_TRUE(buffer.Append(0, "abcd", 10).ok());
  ASSERT_TRUE(buffer.Append(2, "cdef", 10).ok());  // overlaps the acknowledged range
  EXPECT_EQ(buffer.committed(), 6u);
  ASSERT_TRUE(buffer.Append(0, "ab", 10).ok());  // a pure replay changes nothing
  EXPECT_EQ(buffer.committed(), 6u);
  ASSERT_TRUE(buffer.Append(6, "ghij", 10).ok());
  ASSERT_TRUE(buffer.complete());
  EXPECT_EQ(buffer.bytes(), "abcdefghij");
}

TEST(UploadBufferTest, GapIsAnsweredWithTheResumeOffset) {
  UploadBuffer buffer(100);
  ASSERT_TRUE(buffer.Append(0, "abc", 6).ok());
  ASSERT_TRUE(buffer.Append(5, "f", 6).ok());
  EXPECT_EQ(buffer.committed(), 3u);
  EXPECT_FALSE(buffer.complete());
}

TEST(UploadBufferTest, RejectsBadSizes) {
  UploadBuffer buffer(8);
  EXPECT_EQ(buffer.Append(0, "", 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(buffer.Append(0, "a", 9).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(buffer.Append(0, "ab", 4).ok());
  EXPECT_EQ(buffer.Append(2, "c", 5).code(), absl::StatusCode::kInvalidArgument);   // total changed
  EXPECT_EQ(buffer.Append(2, "cde", 4).code(), absl::StatusCode::kInvalidArgument); // runs past the end
  EXPECT_EQ(buffer.committed(), 2u);
}

}  // namespace
}  // namespace fedge
