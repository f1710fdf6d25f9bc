#include "privacy/privacy_ledger.h"

#include <filesystem>
#include <string>

#include "core/file_util.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

constexpr PrivacyBudget kBudget{.epsilon = 3.0, .delta = 1e-5};

class PrivacyLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("fedge_ledger_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "ledger.txt").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<PrivacyLedger> OpenOk(PrivacyBudget budget = kBudget) {
    absl::StatusOr<std::unique_ptr<PrivacyLedger>> ledger = PrivacyLedger::Open(path_, budget);
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    return ledger.ok() ? std::move(*ledger) : nullptr;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(PrivacyLedgerTest, MissingFileGivesEmptyLedger) {
  std::unique_ptr<PrivacyLedger> ledger = OpenOk();
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(ledger->Epsilon(), 0.0);
  EXPECT_TRUE(ledger->events().empty());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(PrivacyLedgerTest, ChargesPersistAndReload) {
  {
    std::unique_ptr<PrivacyLedger> ledger = OpenOk();
    ASSERT_TRUE(ledger->Charge(0.01, 1.0, 400).ok());
    ASSERT_TRUE(ledger->Charge(0.01, 1.0, 600).ok());
    EXPECT_NEAR(ledger->Epsilon(), 2.1013652716432, 1e-6);
    ASSERT_EQ(ledger->events().size(), 1u);  // merged by (q, σ)
    EXPECT_EQ(ledger->events()[0].steps, 1000);
  }
  std::unique_ptr<PrivacyLedger> reloaded = OpenOk();
  EXPECT_NEAR(reloaded->Epsilon(), 2.1013652716432, 1e-6);
  ASSERT_TRUE(reloaded->Charge(0.003, 1.7, 50).ok());
  std::unique_ptr<PrivacyLedger> again = OpenOk();
  ASSERT_EQ(again->events().size(), 2u);
  EXPECT_EQ(again->events()[1].sample_rate, 0.003);
  EXPECT_EQ(again->events()[1].noise_multiplier, 1.7);
  EXPECT_EQ(again->Epsilon(), reloaded->Epsilon());
}

TEST_F(PrivacyLedgerTest, ASealedLedgerReloadsAndAnAlteredOneIsRefused) {
  const SealingKey key = *SealingKey::Generate();
  {
    absl::StatusOr<std::unique_ptr<PrivacyLedger>> ledger = PrivacyLedger::Open(path_, kBudget, key);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ASSERT_TRUE((*ledger)->Charge(0.01, 1.0, 1000).ok());
  }
  std::string stored = *ReadFile(path_);
  EXPECT_EQ(stored.find("fedge-privacy-ledger"), std::string::npos) << "the file is sealed, not text";
  absl::StatusOr<std::unique_ptr<PrivacyLedger>> reloaded = PrivacyLedger::Open(path_, kBudget, key);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_NEAR((*reloaded)->Epsilon(), 2.1013652716432, 1e-6);

  EXPECT_EQ(PrivacyLedger::Open(path_, kBudget, *SealingKey::Generate()).status().code(),
            absl::StatusCode::kDataLoss) << "another key";
  EXPECT_EQ(PrivacyLedger::Open(path_, kBudget).status().code(), absl::StatusCode::kDataLoss) << "read as text";
  stored[stored.size() - 3] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomically(path_, stored).ok());
  const absl::Status altered = PrivacyLedger::Open(path_, kBudget, key).status();
  EXPECT_EQ(altered.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(altered.message()).find("operator"), std::string::npos) << altered;
  ASSERT_TRUE(WriteFileAtomically(path_, SerializePrivacyLedger({})).ok());
  EXPECT_EQ(PrivacyLedger::Open(path_, kBudget, key).status().code(), absl::StatusCode::kDataLoss)
      << "a plain-text ledger put in place of a sealed one";
}

TEST_F(PrivacyLedgerTest, ASealedLedgerIsWrittenAtOnceSoItsAbsenceIsNoticed) {
  const SealingKey key = *SealingKey::Generate();
  ASSERT_TRUE(PrivacyLedger::Open(path_, kBudget, key).ok());
  EXPECT_TRUE(std::filesystem::exists(path_)) << "written before any charge";
  EXPECT_TRUE(PrivacyLedger::Open(path_, kBudget, key, /*must_exist=*/true).ok());

  std::filesystem::remove(path_);  // deleted to reset the spending
  const absl::Status missing = PrivacyLedger::Open(path_, kBudget, key, /*must_exist=*/true).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(missing.message()).find("--reset-privacy-ledger"), std::string::npos) << missing;
}

TEST_F(PrivacyLedgerTest, ResetKeepsTheOldFileAndStartsEmpty) {
  const SealingKey key = *SealingKey::Generate();
  {
    auto ledger = PrivacyLedger::Open(path_, kBudget, key);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE((*ledger)->Charge(0.01, 1.0, 1000).ok());
  }
  std::string stored = *ReadFile(path_);
  stored[stored.size() - 1] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomically(path_, stored).ok());
  ASSERT_EQ(PrivacyLedger::Open(path_, kBudget, key).status().code(), absl::StatusCode::kDataLoss);

  ASSERT_TRUE(PrivacyLedger::Reset(path_, key).ok());
  auto reset = PrivacyLedger::Open(path_, kBudget, key, /*must_exist=*/true);
  ASSERT_TRUE(reset.ok()) << reset.status();
  EXPECT_EQ((*reset)->Epsilon(), 0);
  int kept = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    kept += entry.path().filename().string().rfind("ledger.txt.reset-", 0) == 0;
  }
  EXPECT_EQ(kept, 1) << "the refused ledger is kept for review";
  std::filesystem::remove(path_);
  EXPECT_TRUE(PrivacyLedger::Reset(path_, key).ok()) << "also when it is missing";
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(PrivacyLedgerTest, EpsilonIfSpentDoesNotCharge) {
  std::unique_ptr<PrivacyLedger> ledger = OpenOk();
  absl::StatusOr<double> eps = ledger->EpsilonIfSpent(0.01, 1.0, 1000);
  ASSERT_TRUE(eps.ok());
  EXPECT_NEAR(*eps, 2.1013652716432, 1e-6);
  EXPECT_EQ(ledger->Epsilon(), 0.0);
  EXPECT_EQ(ledger->EpsilonIfSpent(2.0, 1.0, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PrivacyLedgerTest, RefusesTaskOverBudgetAndStaysUnchanged) {
  std::unique_ptr<PrivacyLedger> ledger = OpenOk({.epsilon = 2.5, .delta = 1e-5});
  ASSERT_TRUE(ledger->Charge(0.01, 1.0, 1000).ok());
  const std::string before = *ReadFile(path_);
  const double spent = ledger->Epsilon();
  absl::Status refused = ledger->Charge(0.01, 1.0, 1000);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("spent epsilon 2.10137"), std::string_view::npos) << refused;
  EXPECT_NE(refused.message().find("budget epsilon 2.5"), std::string_view::npos) << refused;
  EXPECT_NE(refused.message().find("would bring it to"), std::string_view::npos) << refused;
  EXPECT_EQ(ledger->Epsilon(), spent);
  EXPECT_EQ(*ReadFile(path_), before);
  // A smaller task still fits.
  EXPECT_TRUE(ledger->Charge(0.01, 1.0, 10).ok());
}

TEST_F(PrivacyLedgerTest, LedgerOverLoweredBudgetRefusesEverything) {
  ASSERT_TRUE(OpenOk()->Charge(0.01, 1.0, 1000).ok());
  std::unique_ptr<PrivacyLedger> strict = OpenOk({.epsilon = 1.0, .delta = 1e-5});
  EXPECT_GT(strict->Epsilon(), 1.0);
  EXPECT_EQ(strict->Charge(0.01, 5.0, 1).code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(PrivacyLedgerTest, CorruptFilesAreDataLoss) {
  const std::string cases[] = {
      "garbage\n",
      "fedge-privacy-ledger 2\nend 0\n",
      "fedge-privacy-ledger 1\nevent 0.01 1 100\n",             // truncated: no end
      "fedge-privacy-ledger 1\nevent 0.01 1 100\nend 0\n",      // wrong count
      "fedge-privacy-ledger 1\nevent 1.5 1 100\nend 1\n",       // invalid q
      "fedge-privacy-ledger 1\nevent 0.01 0 100\nend 1\n",      // invalid sigma
      "fedge-privacy-ledger 1\nevent 0.01 1 x\nend 1\n",        // bad number
      "fedge-privacy-ledger 1\nend 0\nevent 0.01 1 100\n",      // data after end
      "fedge-privacy-ledger 1\nend 0",                          // no final newline
      "",
      // Regression: two events of the same (q, sigma) whose steps add up past
      // INT64_MAX overflowed a signed counter on merge (undefined behaviour).
      "fedge-privacy-ledger 1\nevent 0.01 1 9223372036854775807\nevent 0.01 1 1\nend 2\n",
  };
  for (const std::string& contents : cases) {
    ASSERT_TRUE(WriteFileAtomically(path_, contents).ok());
    absl::StatusOr<std::unique_ptr<PrivacyLedger>> ledger = PrivacyLedger::Open(path_, kBudget);
    EXPECT_EQ(ledger.status().code(), absl::StatusCode::kDataLoss) << contents;
    EXPECT_NE(ledger.status().message().find(path_), std::string_view::npos);
  }
}

TEST_F(PrivacyLedgerTest, RefusesAChargeThatWouldOverflowTheStepCounter) {
  // q = 0 costs no privacy, so only the step counter can refuse the charge.
  ASSERT_TRUE(WriteFileAtomically(path_, "fedge-privacy-ledger 1\nevent 0 1 9223372036854775000\nend 1\n").ok());
  std::unique_ptr<PrivacyLedger> ledger = OpenOk();
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(ledger->Charge(0, 1, 1000).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ledger->events()[0].steps, 9223372036854775000);
}

TEST_F(PrivacyLedgerTest, FormatRoundTripsExactly) {
  const std::vector<SgmEvent> events = {{0.1 / 3, 1.0 / 7, 12345}, {1.0, 0.5, 0}};
  const std::string text = SerializePrivacyLedger(events);
  EXPECT_EQ(text.rfind("fedge-privacy-ledger 1\n", 0), 0u);
  absl::StatusOr<std::vector<SgmEvent>> parsed = ParsePrivacyLedger(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].sample_rate, 0.1 / 3);
  EXPECT_EQ((*parsed)[0].noise_multiplier, 1.0 / 7);
  EXPECT_EQ((*parsed)[0].steps, 12345);
  EXPECT_TRUE(ParsePrivacyLedger(SerializePrivacyLedger({}))->empty());
}

TEST_F(PrivacyLedgerTest, RejectsInvalidBudgetAndCharges) {
  EXPECT_EQ(PrivacyLedger::Open(path_, {.epsilon = 0, .delta = 1e-5}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PrivacyLedger::Open(path_, {.epsilon = 1, .delta = 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::unique_ptr<PrivacyLedger> ledger = OpenOk();
  EXPECT_EQ(ledger->Charge(0.01, -1.0, 10).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger->Charge(0.01, 1.0, -10).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path_));
}

}  // namespace
}  // namespace fedge
