#include "coordinator/store/run_config.h"

#include <filesystem>

#include "coordinator/store/sqlite_state_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

TEST(RunConfigTest, SameConfigResumes) {
  EXPECT_TRUE(CheckRunConfig({{"a", "1"}}, {{"a", "1"}}, "s/state.db").ok());
}

TEST(RunConfigTest, ChangedKeysAreNamed) {
  const absl::Status status =
      CheckRunConfig({{"model.name", "cnn_small"}, {"train.codec", "fp32"}, {"strategy.name", "fedavg"}},
                     {{"model.name", "mlp"}, {"train.codec", "fp32"}}, "s/state.db");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("model.name (stored run: cnn_small, now: mlp)"));
  EXPECT_THAT(status.message(), HasSubstr("strategy.name (stored run: fedavg, now: (unset))"));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("train.codec")));
  EXPECT_THAT(status.message(), HasSubstr("--new-run"));
  EXPECT_THAT(status.message(), HasSubstr("s/state.db"));
}

TEST(RunConfigTest, ReadsTheStateTable) {
  absl::StatusOr<ConfigFile> file =
      ConfigFile::Parse("[state]\ndir = \"/var/lib/fedge\"\nresume_grace_s = 5\nkeep_models = 3\ndurability = \"process\"\n", "t.toml");
  ASSERT_TRUE(file.ok());
  StateOptions options;
  ReadStateTable(file->root().Section("state"), &options);
  ASSERT_TRUE(file->Finish().ok());
  EXPECT_EQ(options.dir, "/var/lib/fedge");
  EXPECT_EQ(options.resume_grace_s, 5);
  EXPECT_EQ(options.keep_models, 3);
  EXPECT_EQ(options.durability, "process");
}

TEST(RunConfigTest, BadStateValuesAreReported) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse("[state]\nkeep_models = 0\nbogus = 1\ndurability = \"maybe\"\n", "t.toml");
  ASSERT_TRUE(file.ok());
  StateOptions options;
  ReadStateTable(file->root().Section("state"), &options);
  const absl::Status status = file->Finish();
  EXPECT_THAT(status.message(), HasSubstr("state.keep_models"));
  EXPECT_THAT(status.message(), HasSubstr("state.bogus"));
  EXPECT_THAT(status.message(), HasSubstr("state.durability"));
}

}  // namespace
}  // namespace fedge

namespace fedge {
namespace {

TEST(RunConfigTest, PrepareRunStartsResumesOrRefuses) {
  const std::string dir = ::testing::TempDir() + "/run_config_prepare";
  std::filesystem::remove_all(dir);
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> store = SqliteStateStore::Open({.dir = dir});
  ASSERT_TRUE(store.ok()) << store.status();
  const RunConfig a = {{"model.name", "cnn_small"}}, b = {{"model.name", "mlp"}};
  ASSERT_TRUE(PrepareRun(**store, a, false, "x").ok());
  ASSERT_TRUE((**store).SaveInitialModel({1, "model", {}}).ok());
  ASSERT_TRUE(PrepareRun(**store, a, false, "x").ok());
  EXPECT_TRUE((**store).Load()->model.has_value());  // resumed, not wiped
  EXPECT_EQ(PrepareRun(**store, b, false, "x").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(PrepareRun(**store, b, true, "x").ok());
  EXPECT_EQ((**(**store).ReadRunConfig()).at("model.name"), "mlp");
  EXPECT_FALSE((**store).Load()->model.has_value());
}

}  // namespace
}  // namespace fedge
