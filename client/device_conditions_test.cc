#include "client/device_conditions.h"

#include <filesystem>
#include <string>

#include "core/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// A fake /sys/class/power_supply and /proc/loadavg under a temp directory.
class DeviceConditionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("conditions_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "power_supply");
    options_.power_supply_dir = (root_ / "power_supply").string();
    options_.loadavg_path = (root_ / "loadavg").string();
    Write("loadavg", "0.10 0.20 0.30 1/100 4242\n");
  }

  void Write(const std::string& relative, const std::string& text) {
    std::filesystem::create_directories((root_ / relative).parent_path());
    ASSERT_TRUE(WriteFileAtomically((root_ / relative).string(), text).ok());
  }
  void Battery(const std::string& percent, const std::string& status) {
    Write("power_supply/BAT0/type", "Battery\n");
    Write("power_supply/BAT0/capacity", percent + "\n");
    Write("power_supply/BAT0/status", status + "\n");
  }

  Eligibility Check() const { return (*LinuxDeviceConditions(options_))->Check(); }

  std::filesystem::path root_;
  DeviceConditionsOptions options_;
};

TEST_F(DeviceConditionsTest, AMachineWithoutABatteryIsOnMains) { EXPECT_TRUE(Check().eligible); }

TEST_F(DeviceConditionsTest, LowBatteryStopsTrainingUnlessCharging) {
  Battery("12", "Discharging");
  const Eligibility low = Check();
  EXPECT_FALSE(low.eligible);
  EXPECT_THAT(low.reason, HasSubstr("battery at 12%, below 20%"));
  Battery("12", "Charging");
  EXPECT_TRUE(Check().eligible);
  Battery("80", "Discharging");
  EXPECT_TRUE(Check().eligible);
  options_.require_mains = true;
  EXPECT_THAT(Check().reason, HasSubstr("mains power"));
  Write("power_supply/AC/type", "Mains\n");
  Write("power_supply/AC/online", "1\n");
  EXPECT_TRUE(Check().eligible);
}

TEST_F(DeviceConditionsTest, BusyCpuAndMeteredLinks) {
  options_.max_load_per_core = 0.5;
  EXPECT_TRUE(Check().eligible);
  Write("loadavg", "500.0 1.0 1.0 1/100 4242\n");
  EXPECT_THAT(Check().reason, HasSubstr("busy: load"));
  options_.max_load_per_core = 0;
  EXPECT_TRUE(Check().eligible) << "no load limit";
  options_.metered = true;
  EXPECT_THAT(Check().reason, HasSubstr("metered link"));
  options_.train_on_metered = true;
  EXPECT_TRUE(Check().eligible);
}

TEST_F(DeviceConditionsTest, BetweenBatchesTheFailureAborts) {
  Battery("5", "Discharging");
  const absl::Status stop = (*LinuxDeviceConditions(options_))->CheckBetweenBatches();
  EXPECT_TRUE(absl::IsAborted(stop)) << stop;
  EXPECT_THAT(std::string(stop.message()), HasSubstr("training interrupted: battery at 5%"));
  options_.min_battery_percent = 101;
  EXPECT_EQ(LinuxDeviceConditions(options_).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
