#include "coordinator/fleet_view.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(FleetViewTest, OfflineIsDerivedFromSilenceForActiveDevicesOnly) {
  const absl::Duration after = absl::Seconds(10);
  const int64_t now = 100'000'000;
  EXPECT_EQ(EffectiveStatus(proto::DEVICE_STATUS_ACTIVE, now - 10'000'000, now, after), proto::DEVICE_STATUS_ACTIVE);
  EXPECT_EQ(EffectiveStatus(proto::DEVICE_STATUS_ACTIVE, now - 10'000'001, now, after), proto::DEVICE_STATUS_OFFLINE);
  // Pending and revoked devices keep their status however long they are silent.
  EXPECT_EQ(EffectiveStatus(proto::DEVICE_STATUS_REVOKED, 0, now, after), proto::DEVICE_STATUS_REVOKED);
  EXPECT_EQ(EffectiveStatus(proto::DEVICE_STATUS_PENDING, 0, now, after), proto::DEVICE_STATUS_PENDING);
}

TEST(FleetViewTest, InferenceHealth) {
  EXPECT_EQ(InferenceHealth(0, 3, {}), "none");
  EXPECT_EQ(InferenceHealth(3, 3, {{"inference_requests", 1000}, {"inference_errors", 10}}), "ok");
  EXPECT_EQ(InferenceHealth(3, 3, {{"inference_requests", 1000}, {"inference_errors", 11}}), "failing");
  EXPECT_EQ(InferenceHealth(3, 3, {{"inference_errors", 1}}), "failing");
  EXPECT_EQ(InferenceHealth(2, 3, {{"inference_requests", 10}}), "outdated");
  // Failing wins over outdated: errors are what an operator must see first.
  EXPECT_EQ(InferenceHealth(2, 3, {{"inference_requests", 10}, {"inference_errors", 5}}), "failing");
}

TEST(FleetViewTest, StatusNamesRoundTrip) {
  for (proto::DeviceStatus s : {proto::DEVICE_STATUS_PENDING, proto::DEVICE_STATUS_ACTIVE,
                                proto::DEVICE_STATUS_OFFLINE, proto::DEVICE_STATUS_REVOKED}) {
    EXPECT_EQ(ParseDeviceStatus(DeviceStatusName(s)), s) << DeviceStatusName(s);
  }
  EXPECT_EQ(DeviceStatusName(proto::DEVICE_STATUS_OFFLINE), "offline");
  EXPECT_FALSE(ParseDeviceStatus("unspecified").has_value());
  EXPECT_FALSE(ParseDeviceStatus("Active").has_value());
}

TEST(FleetViewTest, PageTokensRoundTripAndRefuseForgeries) {
  for (const std::string& id : std::vector<std::string>{"dev-0", "", "a/b+c=d", std::string(64, 'x')}) {
    absl::StatusOr<std::string> back = DecodePageToken(EncodePageToken(id));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, id);
  }
  EXPECT_EQ(DecodePageToken("dev-0").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodePageToken("!!!").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FleetViewTest, PageSizeDefaultsAndCaps) {
  EXPECT_EQ(DevicePageSize(0), kDefaultDevicePageSize);
  EXPECT_EQ(DevicePageSize(7), 7u);
  EXPECT_EQ(DevicePageSize(1'000'000), kMaxDevicePageSize);
}

}  // namespace
}  // namespace fedge
