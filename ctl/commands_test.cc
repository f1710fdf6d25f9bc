#include "ctl/commands.h"
#include "ctl/enrol_commands.h"

#include <algorithm>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fedge::ctl {
namespace {

using ::testing::HasSubstr;

// Serves a fixed registry of `n` devices, `page` at a time, like the
// coordinator (tokens are the index of the next device here).
class FakeAdmin final : public AdminApi {
 public:
  explicit FakeAdmin(int n) {
    for (int i = 0; i < n; ++i) {
      proto::DeviceSummary d;
      d.set_device_id(absl::StrCat("dev-", i));
      d.set_status(i % 2 == 0 ? proto::DEVICE_STATUS_ACTIVE : proto::DEVICE_STATUS_OFFLINE);
      d.set_updates_accepted(i);
      devices_.push_back(d);
    }
  }
  absl::StatusOr<proto::StatusResponse> GetStatus(const proto::StatusRequest& request) override {
    last_status_request = request;
    proto::StatusResponse s;
    s.set_current_round(3);
    s.set_round_limit(5);
    s.set_round_open(true);
    s.set_model_version(3);
    s.set_registered_devices(devices_.size());
    (*s.mutable_devices_by_status())["active"] = 2;
    proto::RoundRecord& r = *s.add_recent_rounds();
    r.set_round(2);
    r.set_succeeded(true);
    r.set_accepted(2);
    (*r.mutable_metrics())["test_accuracy"] = 0.8125;
    return s;
  }
  absl::StatusOr<proto::ListDevicesResponse> ListDevices(const proto::ListDevicesRequest& request) override {
    ++list_calls;
    size_t start = request.page_token().empty() ? 0 : std::stoul(request.page_token());
    proto::ListDevicesResponse page;
    size_t i = start;
    for (; i < devices_.size() && page.devices_size() < 2; ++i) {
      if (request.status() == proto::DEVICE_STATUS_UNSPECIFIED || request.status() == devices_[i].status()) {
        *page.add_devices() = devices_[i];
      }
    }
    if (i < devices_.size()) page.set_next_page_token(absl::StrCat(i));
    return page;
  }
  absl::StatusOr<proto::DeviceSummary> GetDevice(const std::string& id) override {
    for (const auto& d : devices_) {
      if (d.device_id() == id) return d;
    }
    return absl::NotFoundError(absl::StrCat("device '", id, "' is not registered"));
  }
  absl::StatusOr<proto::ListModelsResponse> ListModels() override {
    proto::ListModelsResponse m;
    proto::ModelSummary& g = *m.add_models();
    g.set_kind("global");
    g.set_version(3);
    g.set_current(true);
    g.set_sha256(std::string(64, 'a'));
    return m;
  }
  absl::StatusOr<proto::RolloutStatus> GetRollout() override { return absl::UnimplementedError("not faked here"); }
  absl::StatusOr<proto::RolloutStatus> ControlRollout(proto::RolloutControlRequest::Action) override {
    return absl::UnimplementedError("not faked here");
  }
  absl::StatusOr<proto::BackupResponse> Backup(const std::string& path) override {
    if (path.empty() || path[0] != '/') return absl::InvalidArgumentError("must be absolute");
    proto::BackupResponse b;
    b.set_path(path);
    b.set_database_bytes(4096);
    b.set_model_files(2);
    return b;
  }
  absl::StatusOr<proto::CreateTokensResponse> CreateTokens(const proto::CreateTokensRequest& request) override {
    last_tokens_request = request;
    proto::CreateTokensResponse r;
    for (uint32_t i = 0; i < request.count(); ++i) r.add_tokens(absl::StrCat("token-", i));
    r.set_expires_unix_micros(1'800'000'000'000'000);
    return r;
  }
  absl::StatusOr<proto::DeviceSummary> ApproveDevice(const std::string& id) override {
    return SetStatus(id, proto::DEVICE_STATUS_ACTIVE);
  }
  absl::StatusOr<proto::DeviceSummary> RevokeDevice(const std::string& id) override {
    return SetStatus(id, proto::DEVICE_STATUS_REVOKED);
  }

  proto::StatusRequest last_status_request;
  proto::CreateTokensRequest last_tokens_request;
  int list_calls = 0;

 private:
  absl::StatusOr<proto::DeviceSummary> SetStatus(const std::string& id, proto::DeviceStatus status) {
    for (auto& d : devices_) {
      if (d.device_id() != id) continue;
      d.set_status(status);
      return d;
    }
    return absl::NotFoundError(absl::StrCat("device \"", id, "\" is neither enrolled nor registered"));
  }

  std::vector<proto::DeviceSummary> devices_;
};

nlohmann::json Json(const std::string& text) { return nlohmann::json::parse(text); }

TEST(CommandsTest, DevicesFollowsPagesAndFilters) {
  FakeAdmin api(5);
  std::ostringstream out;
  ASSERT_TRUE(ShowDevices(api, {}, {.json = true}, out).ok());
  const nlohmann::json j = Json(out.str());
  EXPECT_EQ(j.at("count"), 5);
  EXPECT_EQ(j.at("devices")[4].at("device_id"), "dev-4");
  EXPECT_EQ(api.list_calls, 3);

  std::ostringstream offline;
  ASSERT_TRUE(ShowDevices(api, {.status = proto::DEVICE_STATUS_OFFLINE, .page_size = 0, .limit = 0}, {.json = true}, offline).ok());
  EXPECT_EQ(Json(offline.str()).at("count"), 2);
  EXPECT_EQ(Json(offline.str()).at("devices")[0].at("status"), "offline");

  std::ostringstream limited;
  ASSERT_TRUE(ShowDevices(api, {.status = std::nullopt, .page_size = 0, .limit = 3}, {.json = true}, limited).ok());
  EXPECT_EQ(Json(limited.str()).at("count"), 3);
}

TEST(CommandsTest, DevicesTableHasAHeaderAndOneLinePerDevice) {
  FakeAdmin api(3);
  std::ostringstream out;
  ASSERT_TRUE(ShowDevices(api, {}, {}, out).ok());
  EXPECT_THAT(out.str(), HasSubstr("DEVICE"));
  EXPECT_THAT(out.str(), HasSubstr("dev-1   offline"));
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
}

TEST(CommandsTest, StatusAsksForAFixedSizeAnswer) {
  FakeAdmin api(2);
  std::ostringstream out;
  ASSERT_TRUE(ShowStatus(api, {}, out).ok());
  EXPECT_TRUE(api.last_status_request.omit_device_maps());
  EXPECT_FALSE(api.last_status_request.include_devices());
  EXPECT_THAT(out.str(), HasSubstr("round:"));
  EXPECT_THAT(out.str(), HasSubstr("3 of 5 (open)"));
  EXPECT_THAT(out.str(), HasSubstr("test_accuracy 0.8125"));
}

TEST(CommandsTest, DeviceRoundsModelsAndBackup) {
  FakeAdmin api(2);
  std::ostringstream device, missing, rounds, models, backup;
  ASSERT_TRUE(ShowDevice(api, "dev-1", {.json = true}, device).ok());
  EXPECT_EQ(Json(device.str()).at("updates_accepted"), 1);
  EXPECT_EQ(ShowDevice(api, "nobody", {}, missing).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(missing.str().empty());
  ASSERT_TRUE(ShowRounds(api, 7, {.json = true}, rounds).ok());
  EXPECT_EQ(api.last_status_request.max_rounds(), 7u);
  EXPECT_EQ(Json(rounds.str()).at("rounds")[0].at("round"), 2);
  ASSERT_TRUE(ShowModels(api, {}, models).ok());
  EXPECT_THAT(models.str(), HasSubstr("global  v3       yes"));
  ASSERT_TRUE(RunBackup(api, "/backups/x", {}, backup).ok());
  EXPECT_THAT(backup.str(), HasSubstr("/backups/x on the coordinator's host"));
  EXPECT_EQ(RunBackup(api, "relative", {}, backup).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CommandsTest, TokenCreatePrintsEachTokenOnce) {
  FakeAdmin api(0);
  std::ostringstream text, json;
  ASSERT_TRUE(CreateTokens(api, 2, 86400, {}, text).ok());
  EXPECT_EQ(api.last_tokens_request.count(), 2u);
  EXPECT_EQ(api.last_tokens_request.ttl_seconds(), 86400);
  EXPECT_THAT(text.str(), HasSubstr("\ntoken-0\ntoken-1\n"));
  EXPECT_THAT(text.str(), HasSubstr("shown only now"));
  ASSERT_TRUE(CreateTokens(api, 3, 60, {.json = true}, json).ok());
  EXPECT_EQ(Json(json.str()).at("tokens").size(), 3u);
}

TEST(CommandsTest, ExpiryParsesDurations) {
  EXPECT_EQ(*ParseExpiry("24h"), 86400);
  EXPECT_EQ(*ParseExpiry("1h30m"), 5400);
  EXPECT_EQ(*ParseExpiry("90s"), 90);
  for (const char* bad : {"", "24", "tomorrow", "-1h", "0s", "1.5s"}) {
    absl::StatusOr<int64_t> parsed = ParseExpiry(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(CommandsTest, ApproveAndRevokeShowTheNewStatus) {
  FakeAdmin api(2);
  std::ostringstream approved, revoked, missing;
  ASSERT_TRUE(ApproveDevice(api, "dev-1", {}, approved).ok());
  EXPECT_THAT(approved.str(), HasSubstr("device dev-1 approved"));
  EXPECT_THAT(approved.str(), HasSubstr("status is now active"));
  ASSERT_TRUE(RevokeDevice(api, "dev-0", {.json = true}, revoked).ok());
  EXPECT_EQ(Json(revoked.str()).at("status"), "revoked");
  EXPECT_EQ(RevokeDevice(api, "nobody", {}, missing).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(missing.str().empty());
}

TEST(CommandsTest, StatusNamesAreTheJsonOnes) {
  EXPECT_EQ(*ParseStatusName("offline"), proto::DEVICE_STATUS_OFFLINE);
  absl::StatusOr<proto::DeviceStatus> bad = ParseStatusName("gone");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("pending, active, offline, revoked"));
}

}  // namespace
}  // namespace fedge::ctl
