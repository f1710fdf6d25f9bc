// The EnrolmentStore of SqliteStateStore: tokens consumed once, expiry on
// an injected time, enrolment records, durability across reopen, and the
// migration of a schema version 4 database.
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/store/schema.h"
#include "coordinator/store/sqlite_state_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string FreshDir(const std::string& name) {
  const std::string dir = (fs::path(::testing::TempDir()) / absl::StrCat("enrolments_", name)).string();
  fs::remove_all(dir);
  return dir;
}

std::unique_ptr<SqliteStateStore> OpenOrDie(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

constexpr int64_t kNow = 1'000'000'000;
constexpr int64_t kHour = int64_t{3600} * 1'000'000;

StoredEnrolment Enrolment(const std::string& device, const std::string& token) {
  StoredEnrolment e;
  e.device_id = device;
  e.token_sha256 = token;
  e.public_key_sha256 = "key-" + device;
  e.csr_pem = "csr of " + device;
  e.requested_unix_micros = kNow;
  return e;
}

TEST(SqliteEnrolmentsTest, ATokenEnrolsOneDeviceOnce) {
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(FreshDir("once"));
  ASSERT_TRUE(store->AddTokens({{"t1", kNow, kNow + kHour}, {"t2", kNow, kNow + kHour}}, kNow).ok());
  ASSERT_TRUE(store->ConsumeToken(Enrolment("dev-a", "t1"), kNow + 1).ok());

  absl::Status reused = store->ConsumeToken(Enrolment("dev-b", "t1"), kNow + 2);
  EXPECT_TRUE(absl::IsPermissionDenied(reused)) << reused;
  EXPECT_THAT(reused.message(), HasSubstr("already used"));
  EXPECT_THAT(reused.message(), HasSubstr("dev-a"));

  absl::Status unknown = store->ConsumeToken(Enrolment("dev-b", "nope"), kNow + 2);
  EXPECT_THAT(unknown.message(), HasSubstr("unknown"));

  // The device id is taken: the second token stays unused.
  absl::Status taken = store->ConsumeToken(Enrolment("dev-a", "t2"), kNow + 3);
  EXPECT_TRUE(absl::IsAlreadyExists(taken)) << taken;
  EXPECT_TRUE(store->ConsumeToken(Enrolment("dev-c", "t2"), kNow + 4).ok());
}

TEST(SqliteEnrolmentsTest, AnExpiredTokenIsRefused) {
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(FreshDir("expired"));
  ASSERT_TRUE(store->AddTokens({{"t", kNow, kNow + kHour}}, kNow).ok());
  absl::Status late = store->ConsumeToken(Enrolment("dev-a", "t"), kNow + kHour);
  EXPECT_TRUE(absl::IsPermissionDenied(late)) << late;
  EXPECT_THAT(late.message(), HasSubstr("expired"));
  EXPECT_TRUE(store->ConsumeToken(Enrolment("dev-a", "t"), kNow + kHour - 1).ok());
}

TEST(SqliteEnrolmentsTest, LongExpiredTokensAreForgotten) {
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(FreshDir("forget"));
  ASSERT_TRUE(store->AddTokens({{"old", kNow, kNow + kHour}}, kNow).ok());
  ASSERT_TRUE(store->AddTokens({}, kNow + 8 * 24 * kHour).ok());
  EXPECT_THAT(store->ConsumeToken(Enrolment("dev-a", "old"), kNow).message(), HasSubstr("unknown"));
}

TEST(SqliteEnrolmentsTest, RacingDevicesCannotBothConsumeOneToken) {
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(FreshDir("race"));
  ASSERT_TRUE(store->AddTokens({{"t", kNow, kNow + kHour}}, kNow).ok());
  std::vector<absl::Status> results(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = store->ConsumeToken(Enrolment(absl::StrCat("d", i), "t"), kNow); });
  }
  for (std::thread& t : threads) t.join();
  int won = 0;
  for (const absl::Status& s : results) won += s.ok() ? 1 : 0;
  EXPECT_EQ(won, 1);
}

TEST(SqliteEnrolmentsTest, EnrolmentsAreUpdatedListedAndDurable) {
  const std::string dir = FreshDir("durable");
  {
    std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
    ASSERT_TRUE(store->AddTokens({{"t1", kNow, kNow + kHour}, {"t2", kNow, kNow + kHour}}, kNow).ok());
    ASSERT_TRUE(store->ConsumeToken(Enrolment("dev-a", "t1"), kNow).ok());
    ASSERT_TRUE(store->ConsumeToken(Enrolment("dev-b", "t2"), kNow).ok());
    StoredEnrolment b = Enrolment("dev-b", "t2");
    b.state = EnrolmentState::kRevoked;
    b.certificate_pem = "cert";
    b.serial_hex = "ABCD";
    b.revoked_unix_micros = kNow + 5;
    ASSERT_TRUE(store->UpdateEnrolment(b).ok());
    EXPECT_TRUE(absl::IsNotFound(store->UpdateEnrolment(Enrolment("dev-z", "t9"))));
    // A new run keeps the fleet's identities.
    ASSERT_TRUE(store->StartRun({{"model", "x"}}).ok());
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<std::optional<StoredEnrolment>> a = store->FindEnrolment("dev-a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->state, EnrolmentState::kPending);
  EXPECT_EQ((*a)->csr_pem, "csr of dev-a");
  EXPECT_FALSE(store->FindEnrolment("dev-z")->has_value());
  absl::StatusOr<std::vector<StoredEnrolment>> revoked = store->ListEnrolments(EnrolmentState::kRevoked);
  ASSERT_TRUE(revoked.ok());
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].device_id, "dev-b");
  EXPECT_EQ((*revoked)[0].serial_hex, "ABCD");
  EXPECT_EQ((*revoked)[0].revoked_unix_micros, kNow + 5);
}

TEST(SqliteEnrolmentsTest, MigratesSchema4) {
  const std::string dir = FreshDir("migrate");
  fs::create_directories(dir);
  {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open((fs::path(dir) / "state.db").string(), true);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(MigrateSchema(**db, 4).ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO devices (device_id, info, first_seen, last_seen, rounds_joined, epsilon) "
                            "VALUES ('v4-device', x'', 1, 2, 3, 0)")
                    .ok());
  }
  std::unique_ptr<SqliteStateStore> store = OpenOrDie(dir);
  absl::StatusOr<StoredState> state = store->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->devices.size(), 1u);
  EXPECT_EQ(state->devices[0].device_id, "v4-device");
  EXPECT_TRUE(store->ListEnrolments(EnrolmentState::kPending)->empty());
  ASSERT_TRUE(store->AddTokens({{"t", kNow, kNow + kHour}}, kNow).ok());
  EXPECT_TRUE(store->ConsumeToken(Enrolment("dev-a", "t"), kNow).ok());
}

}  // namespace
}  // namespace fedge
