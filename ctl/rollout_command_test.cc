// `fedgectl rollout ...` against a fake Admin service holding one rollout.
#include "ctl/rollout_command.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fedge::ctl {
namespace {

using ::testing::HasSubstr;

class FakeRolloutAdmin final : public AdminApi {
 public:
  FakeRolloutAdmin() {
    s_.set_state(proto::ROLLOUT_RUNNING);
    s_.set_version(4);
    s_.set_previous_version(3);
    s_.set_cohort_devices(3);
    s_.set_healthy(2);
    s_.set_max_failure_share(0.2);
    s_.set_reason("advanced to stage 2/3");
    s_.set_stage(1);
    for (double f : {0.01, 0.5, 1.0}) s_.add_stages()->set_fraction(f);
  }
  absl::StatusOr<proto::StatusResponse> GetStatus(const proto::StatusRequest&) override { return Unused(); }
  absl::StatusOr<proto::ListDevicesResponse> ListDevices(const proto::ListDevicesRequest&) override {
    return Unused();
  }
  absl::StatusOr<proto::DeviceSummary> GetDevice(const std::string&) override { return Unused(); }
  absl::StatusOr<proto::ListModelsResponse> ListModels() override { return Unused(); }
  absl::StatusOr<proto::BackupResponse> Backup(const std::string&) override { return Unused(); }
  absl::StatusOr<proto::CreateTokensResponse> CreateTokens(const proto::CreateTokensRequest&) override {
    return Unused();
  }
  absl::StatusOr<proto::DeviceSummary> ApproveDevice(const std::string&) override { return Unused(); }
  absl::StatusOr<proto::DeviceSummary> RevokeDevice(const std::string&) override { return Unused(); }
  absl::StatusOr<proto::RolloutStatus> GetRollout() override { return s_; }
  // Like the coordinator: pause only while running, rollback once.
  absl::StatusOr<proto::RolloutStatus> ControlRollout(proto::RolloutControlRequest::Action action) override {
    actions.push_back(action);
    switch (action) {
      case proto::RolloutControlRequest::PAUSE:
        if (s_.state() != proto::ROLLOUT_RUNNING) return absl::FailedPreconditionError("cannot pause");
        s_.set_state(proto::ROLLOUT_PAUSED);
        break;
      case proto::RolloutControlRequest::RESUME: s_.set_state(proto::ROLLOUT_RUNNING); break;
      case proto::RolloutControlRequest::PROMOTE: s_.set_stage(s_.stage() + 1); break;
      case proto::RolloutControlRequest::ROLLBACK:
        if (s_.state() == proto::ROLLOUT_ABORTED) return absl::FailedPreconditionError("cannot roll back");
        s_.set_state(proto::ROLLOUT_ABORTED);
        s_.set_reason("rolled back by an operator");
        break;
      default: return absl::InvalidArgumentError("no action");
    }
    return s_;
  }
  std::vector<proto::RolloutControlRequest::Action> actions;

 private:
  static absl::Status Unused() { return absl::UnimplementedError("not used by rollout"); }
  proto::RolloutStatus s_;
};

std::string RunOn(FakeRolloutAdmin& api, const std::string& action, bool json, absl::Status* status = nullptr) {
  std::ostringstream out;
  absl::Status s = RunRollout(api, action, {.json = json, .now = absl::FromUnixSeconds(100)}, out);
  if (status != nullptr) *status = s;
  return out.str();
}

TEST(RolloutCommandTest, StatusAsTableAndJson) {
  FakeRolloutAdmin api;
  const std::string table = RunOn(api, "status", false);
  EXPECT_THAT(table, HasSubstr("running"));
  EXPECT_THAT(table, HasSubstr("v4 (previous v3)"));
  EXPECT_THAT(table, HasSubstr("stage      2/3"));
  EXPECT_THAT(table, HasSubstr("2 healthy, 0 failed"));
  EXPECT_THAT(table, HasSubstr("50.0%"));
  const nlohmann::json j = nlohmann::json::parse(RunOn(api, "status", true));
  EXPECT_EQ(j["state"], "rollout_running");
  EXPECT_EQ(j["version"], 4);
  EXPECT_TRUE(api.actions.empty());
}

TEST(RolloutCommandTest, ActionsMapToControlRolloutAndRefusalsAreErrors) {
  FakeRolloutAdmin api;
  absl::Status s;
  EXPECT_THAT(RunOn(api, "pause", false, &s), HasSubstr("paused"));
  ASSERT_TRUE(s.ok());
  RunOn(api, "pause", false, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  RunOn(api, "resume", false, &s);
  RunOn(api, "promote", false, &s);
  const nlohmann::json j = nlohmann::json::parse(RunOn(api, "rollback", true, &s));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(j["state"], "rollout_aborted");
  EXPECT_THAT(api.actions, ::testing::ElementsAre(proto::RolloutControlRequest::PAUSE,
                                                  proto::RolloutControlRequest::PAUSE,
                                                  proto::RolloutControlRequest::RESUME,
                                                  proto::RolloutControlRequest::PROMOTE,
                                                  proto::RolloutControlRequest::ROLLBACK));
  RunOn(api, "restart", false, &s);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("status, pause, resume, promote or rollback"));
}

}  // namespace
}  // namespace fedge::ctl
