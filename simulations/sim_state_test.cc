// SimState: rows survive exactly, the run fingerprint ignores what does not
// change results, and the undo log puts devices back.
#include "simulations/sim_state.h"

#include <filesystem>

#include "core/file_util.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const std::string dir = (fs::path(::testing::TempDir()) / name).string();
  fs::remove_all(dir);
  return dir;
}

TEST(SimStateTest, RowsRoundTripExactly) {
  RoundRow row;
  row.round = 3;
  row.succeeded = true;
  row.test_accuracy = 0.1 + 0.2;  // not a short decimal
  row.bytes_up = (uint64_t{1} << 60) + 7;
  row.wall_time_s = 1.25;
  absl::StatusOr<std::vector<RoundRow>> back = RoundRowsFromJson(RoundRowsToJson({row}));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].test_accuracy, row.test_accuracy);
  EXPECT_TRUE(std::isnan((*back)[0].test_loss));
  EXPECT_EQ((*back)[0].bytes_up, row.bytes_up);
  EXPECT_TRUE((*back)[0].succeeded);
  EXPECT_EQ(RoundRowsToJson(*back).dump(), RoundRowsToJson({row}).dump());

  const std::string dir = TempDir("sim_state_rows");
  absl::StatusOr<SimState> state = SimState::Open(dir);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->LoadProgress()->rows.empty());
  // A quarter of a nanosecond past a microsecond: kept exactly.
  const absl::Time clock = absl::FromUnixMicros(1576800002150056) + absl::Nanoseconds(1) / 4;
  ASSERT_TRUE(state->SaveProgress({{row}, clock}).ok());
  absl::StatusOr<SimState::Progress> progress = state->LoadProgress();
  ASSERT_TRUE(progress.ok()) << progress.status();
  EXPECT_EQ(progress->clock, clock);
  ASSERT_EQ(progress->rows.size(), 1u);
  EXPECT_EQ(progress->rows[0].test_accuracy, row.test_accuracy);
}

TEST(SimStateTest, RunConfigIgnoresWorkersDirectoriesAndRounds) {
  Scenario a, b;
  b.run.workers = 7;
  b.run.out_dir = "elsewhere";
  b.run.state_dir = "state";
  b.federation.rounds = 99;
  EXPECT_EQ(SimulationRunConfig(a), SimulationRunConfig(b));
  b.training.learning_rate = 0.5;
  const RunConfig changed = SimulationRunConfig(b);
  EXPECT_NE(SimulationRunConfig(a).at("training.learning_rate"), changed.at("training.learning_rate"));
}

TEST(SimStateTest, FeaturesWhoseStateIsNotStoredAreRefusedByKey) {
  Scenario s;
  EXPECT_TRUE(CheckResumable(s).ok());
  s.deploy.every_rounds = 2;
  absl::Status refused = CheckResumable(s);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused));
  EXPECT_NE(refused.message().find("[deploy] is not resumable yet"), std::string::npos) << refused;
}

TEST(SimStateTest, UndoPutsBackStateFoldersAndLedgersExceptThoseKept) {
  const std::string dir = TempDir("sim_state_undo");
  absl::StatusOr<SimState> state = SimState::Open(dir);
  ASSERT_TRUE(state.ok()) << state.status();
  fs::create_directories(state->DeviceStateDir("a"));
  ASSERT_TRUE(WriteFileAtomically(state->DeviceStateDir("a") + "/residual", "a0").ok());
  ASSERT_TRUE(WriteFileAtomically(state->LedgerPath("a"), "ledger-a0").ok());
  EXPECT_EQ(*state->UndoRound(), 0);
  ASSERT_TRUE(state->BeginRound(4, {"a", "b"}).ok());
  EXPECT_EQ(*state->UndoRound(), 4);
  // The round changes both devices.
  ASSERT_TRUE(WriteFileAtomically(state->DeviceStateDir("a") + "/residual", "a1").ok());
  ASSERT_TRUE(WriteFileAtomically(state->LedgerPath("a"), "ledger-a1").ok());
  fs::create_directories(state->DeviceStateDir("b"));
  ASSERT_TRUE(WriteFileAtomically(state->DeviceStateDir("b") + "/residual", "b1").ok());

  ASSERT_TRUE(state->Undo({"b"}, /*keep_ledgers=*/true).ok());
  EXPECT_EQ(*ReadFile(state->DeviceStateDir("a") + "/residual"), "a0");
  EXPECT_EQ(*ReadFile(state->LedgerPath("a")), "ledger-a1");
  EXPECT_EQ(*ReadFile(state->DeviceStateDir("b") + "/residual"), "b1");

  ASSERT_TRUE(state->Undo({}, /*keep_ledgers=*/false).ok());
  EXPECT_EQ(*ReadFile(state->LedgerPath("a")), "ledger-a0");
  EXPECT_FALSE(fs::exists(state->DeviceStateDir("b") + "/residual"));
  ASSERT_TRUE(state->EndRound().ok());
  EXPECT_EQ(*state->UndoRound(), 0);
}

}  // namespace
}  // namespace fedge
