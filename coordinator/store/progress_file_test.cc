#include "coordinator/store/progress_file.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "core/crc32c.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("progress_file_", name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::unique_ptr<ProgressFile> OpenOrDie(const std::string& dir, ProgressFile::Options options = {}) {
  absl::StatusOr<std::unique_ptr<ProgressFile>> file = ProgressFile::Open(dir, options);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : nullptr;
}

AckedUpdate Acked(const std::string& device, uint64_t size) {
  AckedUpdate u;
  u.task_id = absl::StrCat("task-", device);
  u.device_id = device;
  u.size = size;
  return u;
}

// The newest record of `dir`, read by a file opened anew.
ProgressRecord Newest(const std::string& dir) {
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
  absl::StatusOr<std::optional<ProgressRecord>> record = file->ReadNewest();
  EXPECT_TRUE(record.ok()) << record.status();
  EXPECT_TRUE(record.ok() && record->has_value());
  return record.ok() && record->has_value() ? **record : ProgressRecord{};
}

bool HasRecord(const std::string& dir) {
  absl::StatusOr<std::optional<ProgressRecord>> record = OpenOrDie(dir)->ReadNewest();
  return !record.ok() || record->has_value();
}

std::vector<std::string> Devices(const ProgressRecord& record) {
  std::vector<std::string> ids;
  for (const AckedUpdate& u : record.acked) ids.push_back(u.device_id);
  return ids;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Slot i of `dir`: a new file writes slot 0 first, then alternates.
std::string Slot(const std::string& dir, int i) { return (fs::path(dir) / absl::StrCat("progress.", i)).string(); }

TEST(ProgressFileTest, RecordsSurviveReopeningWithTheRoundsWholeList) {
  const std::string dir = FreshDir("reopen");
  {
    std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
    EXPECT_EQ(file->round(), std::nullopt);
    ASSERT_TRUE(file->Write(3, "aggregate 1", {Acked("a", 10), Acked("b", 20)}).ok());
    ASSERT_TRUE(file->Write(3, "aggregate 2", {Acked("c", 30)}).ok());
  }
  const ProgressRecord record = Newest(dir);
  EXPECT_EQ(record.round, 3u);
  EXPECT_EQ(record.progress, "aggregate 2");
  EXPECT_THAT(Devices(record), ::testing::ElementsAre("a", "b", "c"));
  EXPECT_EQ(record.acked[2].size, 30u);
  EXPECT_EQ(record.acked[2].task_id, "task-c");
  EXPECT_EQ(record.acked[2].round, 3u);
  // Writing goes on from the reopened record.
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
  EXPECT_EQ(file->round(), 3u);
  EXPECT_EQ(file->acked().size(), 3u);
  ASSERT_TRUE(file->Write(3, "aggregate 3", {Acked("d", 40)}).ok());
  EXPECT_THAT(Devices(Newest(dir)), ::testing::ElementsAre("a", "b", "c", "d"));
}

TEST(ProgressFileTest, ANewRoundStartsAnEmptyList) {
  const std::string dir = FreshDir("new_round");
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
  ASSERT_TRUE(file->Write(1, "round 1", {Acked("a", 1)}).ok());
  ASSERT_TRUE(file->Write(2, "round 2", {Acked("b", 2)}).ok());
  EXPECT_THAT(Devices(Newest(dir)), ::testing::ElementsAre("b"));
  // Into the slot that holds round 1's list: written whole.
  ASSERT_TRUE(file->Write(2, "round 2 again", {Acked("c", 3)}).ok());
  EXPECT_THAT(Devices(Newest(dir)), ::testing::ElementsAre("b", "c"));
}

TEST(ProgressFileTest, ATornWriteLeavesTheBatchBefore) {
  const std::string dir = FreshDir("torn");
  {
    std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
    ASSERT_TRUE(file->Write(1, "first", {Acked("a", 1)}).ok());   // slot 0
    ASSERT_TRUE(file->Write(1, "second", {Acked("b", 2)}).ok());  // slot 1
  }
  // A crash in the middle of the second write: its record is cut short.
  std::string bytes = ReadFile(Slot(dir, 1));
  WriteFile(Slot(dir, 1), bytes.substr(0, 50));
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
  EXPECT_EQ(Newest(dir).progress, "first");
  // The next write must not overwrite the only good record.
  ASSERT_TRUE(file->Write(1, "again", {Acked("c", 3)}).ok());
  EXPECT_NE(ReadFile(Slot(dir, 0)).find("first"), std::string::npos);
  EXPECT_THAT(Devices(Newest(dir)), ::testing::ElementsAre("a", "c"));
}

TEST(ProgressFileTest, AFlippedByteIsNotTrusted) {
  const std::string dir = FreshDir("flipped");
  {
    std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
    ASSERT_TRUE(file->Write(1, "first", {Acked("a", 1)}).ok());
    ASSERT_TRUE(file->Write(1, "second", {Acked("b", 2)}).ok());
  }
  std::string bytes = ReadFile(Slot(dir, 1));
  bytes[70] ^= 1;
  WriteFile(Slot(dir, 1), bytes);
  EXPECT_EQ(Newest(dir).progress, "first");
  // Both slots damaged is no torn write: refused, naming both files.
  bytes = ReadFile(Slot(dir, 0));
  bytes[70] ^= 1;
  WriteFile(Slot(dir, 0), bytes);
  absl::StatusOr<std::unique_ptr<ProgressFile>> file = ProgressFile::Open(dir, {});
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(file.status().message(), HasSubstr(Slot(dir, 0)));
  EXPECT_THAT(file.status().message(), HasSubstr(Slot(dir, 1)));
}

TEST(ProgressFileTest, ClearForgetsEveryRecord) {
  const std::string dir = FreshDir("clear");
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
  ASSERT_TRUE(file->Write(1, "first", {Acked("a", 1)}).ok());
  ASSERT_TRUE(file->Write(1, "second", {Acked("b", 2)}).ok());
  ASSERT_TRUE(file->Clear().ok());
  EXPECT_EQ(file->round(), std::nullopt);
  EXPECT_FALSE(HasRecord(dir));
  ASSERT_TRUE(file->Write(1, "after", {Acked("c", 3)}).ok());
  EXPECT_THAT(Devices(Newest(dir)), ::testing::ElementsAre("c"));
}

TEST(ProgressFileTest, AFullDiskChangesNothing) {
  const std::string dir = FreshDir("full");
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir, {.max_slot_bytes = 200});
  ASSERT_TRUE(file->Write(1, "small", {Acked("a", 1)}).ok());
  const absl::Status full = file->Write(1, std::string(300, 'x'), {Acked("b", 2)});
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_THAT(full.message(), HasSubstr("free space"));
  EXPECT_EQ(Newest(dir).progress, "small");
  EXPECT_EQ(file->acked().size(), 1u);
  ASSERT_TRUE(file->Write(1, "fits", {Acked("c", 3)}).ok());
  EXPECT_THAT(Devices(Newest(dir)), ::testing::ElementsAre("a", "c"));
}

TEST(ProgressFileTest, SlotsGrowInLargeSteps) {
  const std::string dir = FreshDir("grow");
  std::unique_ptr<ProgressFile> file = OpenOrDie(dir);
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(file->Write(1, std::string(10'000, 'p'), {Acked(absl::StrCat("device-", i), 1)}).ok());
  }
  EXPECT_EQ(fs::file_size(Slot(dir, 0)), 256u << 10);
  EXPECT_EQ(Newest(dir).acked.size(), 40u);
}

TEST(ProgressFileTest, CopyTakesTheNewestRecord) {
  const std::string src = FreshDir("copy_src");
  const std::string dest = FreshDir("copy_dest");
  std::unique_ptr<ProgressFile> file = OpenOrDie(src);
  ASSERT_TRUE(ProgressFile::Copy(src, dest).ok());  // nothing to copy
  EXPECT_FALSE(HasRecord(dest));
  ASSERT_TRUE(file->Write(4, "first", {Acked("a", 1)}).ok());
  ASSERT_TRUE(file->Write(4, "second", {Acked("b", 2)}).ok());
  ASSERT_TRUE(ProgressFile::Copy(src, FreshDir("copy_dest")).ok());
  const ProgressRecord copy = Newest(dest);
  EXPECT_EQ(copy.round, 4u);
  EXPECT_EQ(copy.progress, "second");
  EXPECT_THAT(Devices(copy), ::testing::ElementsAre("a", "b"));
}

TEST(ParseProgressSlotTest, HostileSlotsAreTornOrDataLoss) {
  uint64_t seq = 0;
  for (const std::string& bytes : {std::string(), std::string(10, 'F'), std::string("FEDGEPRG"),
                                   std::string("FEDGEPRG") + std::string(40, '\xff')}) {
    absl::StatusOr<std::optional<ProgressRecord>> record = ParseProgressSlot(bytes, &seq);
    ASSERT_TRUE(record.ok());
    EXPECT_FALSE(record->has_value());
  }
  // A record whose CRC matches but whose list does not parse was never
  // written by fedge.
  const std::string dir = FreshDir("hostile");
  ASSERT_TRUE(OpenOrDie(dir)->Write(1, "p", {Acked("a", 1)}).ok());
  // header (52 bytes) | task id length, "task-a" | device id length, "a" | size | "p"
  std::string bytes = ReadFile(Slot(dir, 0)).substr(0, 52 + 8 + 6 + 8 + 1 + 8 + 1);
  bytes[52] = 99;  // the task id's length, beyond the list
  auto put_crc = [&bytes](size_t at, uint32_t crc) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  };
  put_crc(40, Crc32c(0, std::string_view(bytes).substr(52, 31)));  // the list's
  put_crc(12, Crc32c(Crc32c(0, std::string_view(bytes).substr(16, 36)), "p"));  // the header's and progress'
  absl::StatusOr<std::optional<ProgressRecord>> record = ParseProgressSlot(bytes, &seq);
  EXPECT_EQ(record.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fedge
