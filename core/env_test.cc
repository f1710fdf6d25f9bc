#include "core/env.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(FakeClockTest, OnlyMovesWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1'000'000);
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), start + absl::Seconds(5));
  clock.SetTime(start - absl::Hours(1));
  EXPECT_EQ(clock.Now(), start - absl::Hours(1));
}

TEST(FakeClockTest, SleepForAdvancesInstantly) {
  FakeClock clock;
  const absl::Time before = clock.Now();
  const absl::Time wall_before = Clock::Real()->Now();
  clock.SleepFor(absl::Hours(24));
  EXPECT_EQ(clock.Now(), before + absl::Hours(24));
  // A day of fake sleep takes (far) less than a minute of real time.
  EXPECT_LT(Clock::Real()->Now() - wall_before, absl::Minutes(1));
}

TEST(FakeClockTest, DefaultStartIsWellAfterEpoch) {
  FakeClock clock;
  EXPECT_GT(clock.Now(), absl::FromUnixSeconds(1'000'000'000));
}

TEST(FakeClockTest, ConcurrentAdvancesAllCount) {
  FakeClock clock(absl::UnixEpoch());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&clock] {
      for (int i = 0; i < 1000; ++i) clock.Advance(absl::Milliseconds(1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(clock.Now(), absl::UnixEpoch() + absl::Seconds(4));
}

TEST(RealClockTest, IsMonotonicEnough) {
  Clock* clock = Clock::Real();
  EXPECT_EQ(clock, Clock::Real());
  const absl::Time a = clock->Now();
  EXPECT_GE(clock->Now(), a);
}

TEST(ThreadPoolTest, RunsAllScheduledWorkBeforeWaitReturns) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.num_threads(), 4);
  std::atomic<int> done{0};
  constexpr int kTasks = 1000;
  for (int i = 0; i < kTasks; ++i) pool.Schedule([&done] { done.fetch_add(1, std::memory_order_relaxed); });
  pool.Wait();
  EXPECT_EQ(done.load(), kTasks);
  // The pool is reusable after Wait().
  for (int i = 0; i < kTasks; ++i) pool.Schedule([&done] { done.fetch_add(1, std::memory_order_relaxed); });
  pool.Wait();
  EXPECT_EQ(done.load(), 2 * kTasks);
}

TEST(ThreadPoolTest, WaitBlocksWhileWorkIsRunning) {
  ThreadPool pool(2);
  absl::Notification started;
  absl::Notification release;
  std::atomic<bool> finished{false};
  pool.Schedule([&] {
    started.Notify();
    release.WaitForNotification();
    finished = true;
  });
  started.WaitForNotification();  // the task has been dequeued: only running_ holds Wait()
  std::atomic<bool> wait_returned{false};
  std::thread waiter([&] {
    pool.Wait();
    wait_returned = true;
    EXPECT_TRUE(finished.load());
  });
  EXPECT_FALSE(wait_returned.load());
  release.Notify();
  waiter.join();
  EXPECT_TRUE(wait_returned.load());
  EXPECT_TRUE(finished.load());
}

TEST(ThreadPoolTest, RunsTasksConcurrently) {
  // Two tasks that each wait for the other can only finish on two threads.
  ThreadPool pool(2);
  absl::Notification a_ran;
  absl::Notification b_ran;
  pool.Schedule([&] {
    a_ran.Notify();
    b_ran.WaitForNotification();
  });
  pool.Schedule([&] {
    b_ran.Notify();
    a_ran.WaitForNotification();
  });
  pool.Wait();
  EXPECT_TRUE(a_ran.HasBeenNotified());
  EXPECT_TRUE(b_ran.HasBeenNotified());
}

TEST(ThreadPoolTest, TasksMayScheduleMoreTasks) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    pool.Schedule([&] {
      pool.Schedule([&] { done.fetch_add(1); });
      done.fetch_add(1);
    });
  }
  pool.Wait();
  EXPECT_EQ(done.load(), 20);
}

TEST(ThreadPoolTest, DestructorDrainsQueuedWork) {
  std::atomic<int> done{0};
  {
    ThreadPool pool(1);
    for (int i = 0; i < 100; ++i) pool.Schedule([&done] { done.fetch_add(1); });
  }
  EXPECT_EQ(done.load(), 100);
}

TEST(ThreadPoolTest, NonPositiveThreadCountStillGetsOneThread) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.num_threads(), 1);
  std::atomic<int> done{0};
  pool.Schedule([&done] { done = 1; });
  pool.Wait();
  EXPECT_EQ(done.load(), 1);
}

TEST(InlineExecutorTest, RunsOnCallingThreadBeforeReturning) {
  InlineExecutor executor;
  Executor& as_executor = executor;
  std::thread::id ran_on;
  bool ran = false;
  as_executor.Schedule([&] {
    ran = true;
    ran_on = std::this_thread::get_id();
  });
  EXPECT_TRUE(ran);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace fedge
