#include "client/outbox.h"

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(::testing::TempDir(), "/outbox_test_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    key_ = *SealingKey::Generate();
  }
  std::unique_ptr<Outbox> Open(int max_records = 4, uint64_t max_bytes = 1 << 20, const std::string& id = "dev-1") {
    auto outbox = Outbox::Open({.dir = dir_, .max_records = max_records, .max_bytes = max_bytes}, id, *key_);
    EXPECT_TRUE(outbox.ok()) << outbox.status();
    return outbox.ok() ? *std::move(outbox) : nullptr;
  }
  static OutboxRecord Record(uint64_t round, std::string update) {
    return {.header = {.round = round, .model_version = round - 1, .task_id = absl::StrCat("r", round, "-dev-1"),
                       .sealed_at = absl::FromUnixSeconds(1700000000)},
            .update = std::move(update)};
  }
  std::string FileOf(uint64_t sequence) const { return absl::StrCat(dir_, "/", sequence, ".outbox"); }

  std::string dir_;
  std::optional<SealingKey> key_;
};

TEST_F(OutboxTest, KeepsRecordsAcrossReopeningOldestFirst) {
  {
    auto outbox = Open();
    ASSERT_TRUE(outbox->Put(Record(3, "update three")).ok());
    ASSERT_TRUE(outbox->Put(Record(4, "update four")).ok());
  }
  auto outbox = Open();
  EXPECT_EQ(outbox->size(), 2u);
  std::optional<StoredOutboxRecord> oldest = outbox->Oldest();
  ASSERT_TRUE(oldest.has_value());
  EXPECT_EQ(oldest->record.update, "update three");
  EXPECT_EQ(oldest->record.header.round, 3u);
  EXPECT_EQ(oldest->record.header.model_version, 2u);
  EXPECT_EQ(oldest->record.header.task_id, "r3-dev-1");
  EXPECT_EQ(oldest->record.header.sealed_at, absl::FromUnixSeconds(1700000000));
  ASSERT_TRUE(outbox->Remove(oldest->sequence).ok());
  EXPECT_EQ(outbox->Oldest()->record.update, "update four");
  EXPECT_EQ(outbox->Remove(oldest->sequence).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(outbox->Put(Record(5, "five")).ok());  // sequences keep increasing after a reopen
  EXPECT_EQ(outbox->size(), 2u);
}

TEST_F(OutboxTest, FilesHoldNoPlaintextOfTheUpdate) {
  auto outbox = Open();
  const std::string secret = "gradient bytes that must never be on disk in the clear 0123456789";
  ASSERT_TRUE(outbox->Put(Record(1, secret)).ok());
  const std::string file = *ReadFile(FileOf(1));
  EXPECT_EQ(file.find(secret.substr(0, 16)), std::string::npos);
  EXPECT_EQ(file.find("gradient"), std::string::npos);
  EXPECT_EQ(std::filesystem::status(dir_).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
}

TEST_F(OutboxTest, AFlippedByteAnywhereIsDiscardedAndCounted) {
  auto outbox = Open();
  ASSERT_TRUE(outbox->Put(Record(1, "first update")).ok());
  const std::string good = *ReadFile(FileOf(1));
  // Every position: the magic, the header fields (authenticated), the body.
  for (size_t at = 0; at < good.size(); at += 7) {
    std::string bad = good;
    bad[at] ^= 0x01;
    ASSERT_TRUE(WriteFileAtomically(FileOf(1), bad).ok());
    auto reopened = Open();
    EXPECT_FALSE(reopened->Oldest().has_value()) << "flip at " << at;
    EXPECT_EQ(reopened->stats().discarded, 1u);
    EXPECT_FALSE(std::filesystem::exists(FileOf(1)));
    ASSERT_TRUE(WriteFileAtomically(FileOf(1), good).ok());
  }
  EXPECT_EQ(Open()->Oldest()->record.update, "first update");
}

TEST_F(OutboxTest, ARecordDoesNotOpenForAnotherDeviceOrKey) {
  ASSERT_TRUE(Open()->Put(Record(1, "mine")).ok());
  auto other_device = Open(4, 1 << 20, "dev-2");
  EXPECT_FALSE(other_device->Oldest().has_value());
  EXPECT_EQ(other_device->stats().discarded, 1u);
  ASSERT_TRUE(Open()->Put(Record(1, "mine")).ok());
  key_ = *SealingKey::Generate();
  EXPECT_FALSE(Open()->Oldest().has_value());
}

TEST_F(OutboxTest, EvictsTheOldestBeyondTheBoundsAndReturnsThem) {
  auto outbox = Open(/*max_records=*/2);
  ASSERT_TRUE(outbox->Put(Record(1, "one")).ok());
  ASSERT_TRUE(outbox->Put(Record(2, "two")).ok());
  absl::StatusOr<std::vector<OutboxRecord>> evicted = outbox->Put(Record(3, "three"));
  ASSERT_TRUE(evicted.ok());
  ASSERT_EQ(evicted->size(), 1u);
  EXPECT_EQ((*evicted)[0].update, "one");
  EXPECT_EQ(outbox->size(), 2u);
  EXPECT_EQ(outbox->stats().evicted, 1u);

  // By bytes: room for about two records of this size.
  std::filesystem::remove_all(dir_);
  const std::string big(400, 'x');
  const uint64_t record_bytes = FormatOutboxHeader(Record(1, big).header).size() + big.size() + 32;
  auto by_bytes = Open(/*max_records=*/100, /*max_bytes=*/2 * record_bytes + 10);
  for (uint64_t r = 1; r <= 4; ++r) ASSERT_TRUE(by_bytes->Put(Record(r, big)).ok());
  EXPECT_EQ(by_bytes->size(), 2u);
  EXPECT_LE(by_bytes->bytes(), 2 * record_bytes + 10);
  EXPECT_EQ(by_bytes->Oldest()->record.header.round, 3u);
  EXPECT_EQ(by_bytes->Put(Record(9, std::string(10000, 'y'))).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(OutboxTest, RefusesBadOptionsAndTaskIds) {
  EXPECT_EQ(Outbox::Open({.dir = ""}, "d", *key_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Outbox::Open({.dir = dir_, .max_records = 0}, "d", *key_).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Outbox::Open({.dir = dir_}, "", *key_).status().code(), absl::StatusCode::kInvalidArgument);
  auto outbox = Open();
  OutboxRecord spaced = Record(1, "u");
  spaced.header.task_id = "a task";
  EXPECT_EQ(outbox->Put(spaced).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outbox->size(), 0u);
}

TEST_F(OutboxTest, IgnoresStrayFilesAndRemovesInterruptedWrites) {
  std::filesystem::create_directories(dir_);
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/README", "not a record").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/7.outbox.tmp.123", "half").ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/007.outbox", "leading zeros are not ours").ok());
  auto outbox = Open();
  EXPECT_EQ(outbox->size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/7.outbox.tmp.123"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/README"));
}

TEST(OutboxFileTest, ParsesOnlyCanonicalHeaders) {
  const OutboxHeader header{.round = 12, .model_version = 11, .task_id = "r12-d", .sealed_at = absl::FromUnixMicros(5)};
  const std::string text = FormatOutboxHeader(header) + "BODY";
  absl::StatusOr<OutboxFile> file = ParseOutboxFile(text);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->header.round, 12u);
  EXPECT_EQ(file->header.task_id, "r12-d");
  EXPECT_EQ(file->sealed, "BODY");
  EXPECT_EQ(file->header_text, FormatOutboxHeader(header));
  for (const std::string bad : {"", "fedge-outbox 2\n", "fedge-outbox 1\nround 1\n",
                                "fedge-outbox 1\nround +1\nmodel_version 0\ntask t\nsealed_at 0\n\n",
                                "fedge-outbox 1\nround 01\nmodel_version 0\ntask t\nsealed_at 0\n\n",
                                "fedge-outbox 1\nround 1\nmodel_version 0\ntask a b\nsealed_at 0\n\n",
                                "fedge-outbox 1\nround 1\nmodel_version 0\ntask t\nsealed_at 0\nextra 1\n\n",
                                "fedge-outbox 1\nround 99999999999999999999\nmodel_version 0\ntask t\nsealed_at 0\n\n"}) {
    absl::StatusOr<OutboxFile> parsed = ParseOutboxFile(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << bad;
  }
  EXPECT_THAT(std::string(ParseOutboxFile("garbage").status().message()), HasSubstr("not a fedge outbox record"));
}

}  // namespace
}  // namespace fedge
