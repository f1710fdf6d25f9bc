// OutboxNotice: a device in an outage says so when it begins, when its
// backlog changes, and then once per interval, however often it retries.
#include "client/outbox_notice.h"

#include "gtest/gtest.h"

namespace fedge {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(OutboxNoticeTest, AnOutageIsLoggedOnceAMinuteNotAtEveryAttempt) {
  OutboxNotice notice;
  int logged = 0;
  // One attempt a second for ten minutes, three updates waiting throughout.
  for (int s = 0; s < 600; ++s) logged += notice.ShouldLog(kStart + absl::Seconds(s), 3);
  EXPECT_EQ(logged, 10);  // at 0 s, then every 60 s
  EXPECT_EQ(notice.skipped(), 59u);
  EXPECT_EQ(notice.outage(kStart + absl::Seconds(600)), absl::Seconds(600));
}

TEST(OutboxNoticeTest, AChangedBacklogIsLoggedAtOnce) {
  OutboxNotice notice;
  EXPECT_TRUE(notice.ShouldLog(kStart, 1));
  EXPECT_FALSE(notice.ShouldLog(kStart + absl::Seconds(1), 1));
  EXPECT_TRUE(notice.ShouldLog(kStart + absl::Seconds(2), 2));  // one more update kept
  EXPECT_EQ(notice.skipped(), 1u);
  EXPECT_FALSE(notice.ShouldLog(kStart + absl::Seconds(3), 2));
  EXPECT_TRUE(notice.ShouldLog(kStart + absl::Seconds(4), 1));  // one went out, or was dropped
}

TEST(OutboxNoticeTest, EndReportsTheOutageAndTheNextOneIsLoggedAtOnce) {
  OutboxNotice notice;
  EXPECT_EQ(notice.End(kStart), std::nullopt);  // no outage, nothing to report
  EXPECT_TRUE(notice.ShouldLog(kStart, 1));
  EXPECT_FALSE(notice.ShouldLog(kStart + absl::Seconds(5), 1));
  EXPECT_EQ(notice.End(kStart + absl::Seconds(7)), absl::Seconds(7));
  EXPECT_EQ(notice.outage(kStart + absl::Seconds(8)), absl::ZeroDuration());
  // A new outage ten seconds later, with the same backlog: logged at once.
  EXPECT_TRUE(notice.ShouldLog(kStart + absl::Seconds(17), 1));
  EXPECT_EQ(notice.skipped(), 0u);
  EXPECT_EQ(notice.outage(kStart + absl::Seconds(20)), absl::Seconds(3));
}

TEST(OutboxNoticeTest, TheIntervalIsAnOption) {
  OutboxNotice notice(absl::Seconds(10));
  int logged = 0;
  for (int s = 0; s < 100; ++s) logged += notice.ShouldLog(kStart + absl::Seconds(s), 2);
  EXPECT_EQ(logged, 10);
}

}  // namespace
}  // namespace fedge
