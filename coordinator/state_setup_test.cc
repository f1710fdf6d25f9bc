#include "coordinator/state_setup.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

TEST(StateSetupTest, RunConfigCoversModelStrategyCodecAndDp) {
  CoordinatorConfig c;
  const RunConfig run = CoordinatorRunConfig(c);
  for (const char* key : {"model.name", "seed", "strategy.name", "training.codec", "dp.noise_multiplier",
                          "dp.clip_norm", "training.update_clip_norm", "federation.max_update_norm"}) {
    EXPECT_TRUE(run.contains(key)) << key;
  }
}

TEST(StateSetupTest, ChangedMeaningIsRefusedNamingTheKeysUnlessNewRun) {
  const std::string dir = ::testing::TempDir() + "/state_setup_test";
  std::filesystem::remove_all(dir);
  CoordinatorConfig c;
  c.state.dir = dir;
  ASSERT_TRUE(OpenCoordinatorState(c).ok());
  ASSERT_TRUE(OpenCoordinatorState(c).ok());  // the same run resumes
  c.settings.model.name = "mlp";
  c.settings.training.codec = "int8";
  absl::StatusOr<std::unique_ptr<SqliteStateStore>> refused = OpenCoordinatorState(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("model.name (stored run: cnn_small, now: mlp)"));
  EXPECT_THAT(refused.status().message(), HasSubstr("training.codec (stored run: fp32, now: int8)"));
  EXPECT_THAT(refused.status().message(), HasSubstr("--new-run"));
  c.state.new_run = true;
  ASSERT_TRUE(OpenCoordinatorState(c).ok());
  c.state.new_run = false;
  EXPECT_TRUE(OpenCoordinatorState(c).ok());  // the new run is the stored one now
}

}  // namespace
}  // namespace fedge
