#include "simulations/availability.h"

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(DiurnalWindowTest, AlwaysOnlineByDefault) {
  DiurnalWindow w;
  EXPECT_TRUE(w.OnlineAt(absl::Hours(13)));
  EXPECT_EQ(w.NextOnline(absl::Hours(3)), absl::Hours(3));
  EXPECT_EQ(w.OnlineUntil(absl::Hours(3)), absl::InfiniteDuration());
  EXPECT_TRUE(DiurnalWindow::ForDevice(0, 0.5, 1, "dev-1").always_online());
}

TEST(DiurnalWindowTest, OneWindowPerPeriodFromThePhase) {
  // Online 25% of each 100 s period, from 10 s: [10, 35), [110, 135), ...
  DiurnalWindow w(absl::Seconds(100), 0.25, absl::Seconds(10));
  EXPECT_FALSE(w.OnlineAt(absl::Seconds(5)));
  EXPECT_TRUE(w.OnlineAt(absl::Seconds(10)));
  EXPECT_TRUE(w.OnlineAt(absl::Seconds(34)));
  EXPECT_FALSE(w.OnlineAt(absl::Seconds(35)));
  EXPECT_TRUE(w.OnlineAt(absl::Seconds(120)));
  EXPECT_EQ(w.NextOnline(absl::Seconds(5)), absl::Seconds(10));
  EXPECT_EQ(w.NextOnline(absl::Seconds(40)), absl::Seconds(110));
  EXPECT_EQ(w.NextOnline(absl::Seconds(20)), absl::Seconds(20));
  EXPECT_EQ(w.OnlineUntil(absl::Seconds(20)), absl::Seconds(35));
  EXPECT_EQ(w.OnlineUntil(absl::Seconds(115)), absl::Seconds(135));
  // Work pauses between windows.
  EXPECT_EQ(w.Finish(absl::Seconds(20), absl::Seconds(10)), absl::Seconds(30));
  EXPECT_EQ(w.Finish(absl::Seconds(30), absl::Seconds(10)), absl::Seconds(115));
  EXPECT_EQ(w.Finish(absl::Seconds(50), absl::Seconds(60)), absl::Seconds(320));  // 25 + 25 + 10 from 310
}

TEST(DiurnalWindowTest, PhasesAreSeededPerDeviceAndSpreadOverThePeriod) {
  const DiurnalWindow a = DiurnalWindow::ForDevice(100, 0.3, 7, "dev-1");
  const DiurnalWindow again = DiurnalWindow::ForDevice(100, 0.3, 7, "dev-1");
  int online_now = 0;
  for (int s = 0; s < 100; ++s) {
    EXPECT_EQ(a.OnlineAt(absl::Seconds(s)), again.OnlineAt(absl::Seconds(s)));
    online_now += a.OnlineAt(absl::Seconds(s));
  }
  EXPECT_EQ(online_now, 30);
  int devices_online_at_zero = 0;
  for (int i = 0; i < 200; ++i) {
    devices_online_at_zero += DiurnalWindow::ForDevice(100, 0.3, 7, "dev-" + std::to_string(i)).OnlineAt(
        absl::ZeroDuration());
  }
  EXPECT_GT(devices_online_at_zero, 30);  // about 60 of 200
  EXPECT_LT(devices_online_at_zero, 90);
}

}  // namespace
}  // namespace fedge
