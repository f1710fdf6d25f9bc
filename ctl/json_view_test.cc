#include "ctl/json_view.h"

#include "gtest/gtest.h"
#include "proto/fedge.pb.h"

namespace fedge::ctl {
namespace {

TEST(JsonViewTest, EveryFieldWithNumbersAsNumbersAndEnumsAsShortNames) {
  proto::DeviceSummary d;
  d.set_device_id("dev-0");
  d.set_updates_accepted(3);
  d.set_last_seen_unix_micros(1'700'000'000'000'000);
  d.set_status(proto::DEVICE_STATUS_OFFLINE);
  (*d.mutable_metrics())["local_accuracy"] = 0.75;
  d.mutable_drift()->set_alarms(2);
  const nlohmann::json j = ToJson(d);
  EXPECT_EQ(j.at("device_id"), "dev-0");
  EXPECT_TRUE(j.at("updates_accepted").is_number_unsigned());
  EXPECT_EQ(j.at("updates_accepted").get<uint64_t>(), 3u);
  EXPECT_EQ(j.at("last_seen_unix_micros").get<int64_t>(), 1'700'000'000'000'000);
  EXPECT_EQ(j.at("status"), "offline");
  EXPECT_EQ(j.at("metrics").at("local_accuracy").get<double>(), 0.75);
  EXPECT_EQ(j.at("drift").at("alarms").get<uint64_t>(), 2u);
  // Defaults are present, so scripts need no existence checks.
  EXPECT_EQ(j.at("updates_rejected").get<uint64_t>(), 0u);
  EXPECT_EQ(j.at("last_rejection"), "");
  EXPECT_TRUE(j.at("info").is_object());
}

TEST(JsonViewTest, RepeatedFieldsAndMapsWithNumericValues) {
  proto::StatusResponse s;
  s.add_recent_rounds()->set_round(4);
  (*s.mutable_devices_by_status())["active"] = 2;
  const nlohmann::json j = ToJson(s);
  ASSERT_EQ(j.at("recent_rounds").size(), 1u);
  EXPECT_EQ(j.at("recent_rounds")[0].at("round").get<uint64_t>(), 4u);
  EXPECT_EQ(j.at("devices_by_status").at("active").get<uint32_t>(), 2u);
  EXPECT_TRUE(j.at("drift").is_array());
}

TEST(JsonViewTest, EnumNamesLoseOnlyTheirTypePrefix) {
  EXPECT_EQ(EnumJsonName(*proto::DeviceStatus_descriptor()->FindValueByNumber(proto::DEVICE_STATUS_REVOKED)),
            "revoked");
  EXPECT_EQ(EnumJsonName(*proto::ArtifactKind_descriptor()->FindValueByNumber(proto::ARTIFACT_DEPLOYED_MODEL)),
            "artifact_deployed_model");  // ARTIFACT_ does not spell ArtifactKind
}

}  // namespace
}  // namespace fedge::ctl
