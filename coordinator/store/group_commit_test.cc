// GroupCommit: updates queued while a batch is written go out together in
// one AppendUpdates call, callbacks run in queue order under the apply
// mutex, and a failed write reaches every update of its batch.
#include "coordinator/store/group_commit.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::ElementsAre;

// Records the batches it is given; the first write can be held open so the
// test decides what queues behind it (no sleeps).
class RecordingStore final : public StateStore {
 public:
  absl::Status result = absl::OkStatus();
  bool hold_first = false;
  absl::Notification first_entered;
  absl::Notification release_first;

  absl::Status AppendUpdates(const std::vector<AckedUpdate>& updates) override {
    std::vector<std::string> ids;
    for (const AckedUpdate& u : updates) ids.push_back(u.task_id);
    {
      absl::MutexLock lock(&mu);
      batches.push_back(ids);
    }
    if (hold_first && !first_entered.HasBeenNotified()) {
      first_entered.Notify();
      release_first.WaitForNotification();
    }
    return result;
  }
  std::vector<std::vector<std::string>> Batches() {
    absl::MutexLock lock(&mu);
    return batches;
  }

  absl::StatusOr<std::optional<RunConfig>> ReadRunConfig() override { return std::nullopt; }
  absl::Status StartRun(const RunConfig&) override { return absl::OkStatus(); }
  absl::StatusOr<StoredState> Load() override { return StoredState(); }
  absl::Status SaveInitialModel(const StoredModel&) override { return absl::OkStatus(); }
  absl::Status SaveDevices(const std::vector<StoredDevice>&) override { return absl::OkStatus(); }
  absl::Status OpenRound(const StoredOpenRound&, const RunCounters&) override { return absl::OkStatus(); }
  absl::Status CloseRound(const RoundClosure&) override { return absl::OkStatus(); }
  absl::Status CompleteRound(const proto::RoundRecord&, const RunCounters&) override { return absl::OkStatus(); }
  absl::Status SaveDeployment(const StoredDeployment&) override { return absl::OkStatus(); }

 private:
  absl::Mutex mu;
  std::vector<std::vector<std::string>> batches ABSL_GUARDED_BY(mu);
};

AckedUpdate Update(const std::string& task) { return AckedUpdate{1, task, "device-" + task, "bytes"}; }

struct Applied {
  absl::Mutex mu;
  std::vector<std::string> order ABSL_GUARDED_BY(mu);
  GroupCommit::Apply For(const std::string& task) {
    return [this, task](const absl::Status& stored) {
      mu.AssertHeld();  // the apply mutex is held
      order.push_back(absl::StrCat(task, stored.ok() ? "" : ":failed"));
    };
  }
};

TEST(GroupCommitTest, AloneIsOneBatchOfOne) {
  RecordingStore store;
  Applied applied;
  GroupCommit commit(&store, &applied.mu);
  ASSERT_TRUE(commit.Wait(commit.Enqueue(Update("a"), applied.For("a"))).ok());
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a")));
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("a"));
}

TEST(GroupCommitTest, UpdatesQueuedDuringAWriteShareTheNextOneInOrder) {
  RecordingStore store;
  store.hold_first = true;
  Applied applied;
  GroupCommit commit(&store, &applied.mu);
  std::thread first([&] { EXPECT_TRUE(commit.Wait(commit.Enqueue(Update("a"), applied.For("a"))).ok()); });
  store.first_entered.WaitForNotification();  // "a" is being written
  auto b = commit.Enqueue(Update("b"), applied.For("b"));
  auto c = commit.Enqueue(Update("c"), applied.For("c"));
  auto d = commit.Enqueue(Update("d"), applied.For("d"));
  std::thread waiter_c([&] { EXPECT_TRUE(commit.Wait(c).ok()); });
  std::thread waiter_d([&] { EXPECT_TRUE(commit.Wait(d).ok()); });
  store.release_first.Notify();
  EXPECT_TRUE(commit.Wait(b).ok());
  first.join();
  waiter_c.join();
  waiter_d.join();
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a"), ElementsAre("b", "c", "d")));
  EXPECT_EQ(commit.stats().batches, 2);
  EXPECT_EQ(commit.stats().updates, 4);
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("a", "b", "c", "d"));
}

TEST(GroupCommitTest, AFailedWriteReachesEveryUpdateOfItsBatch) {
  RecordingStore store;
  store.result = absl::ResourceExhaustedError("disk full");
  Applied applied;
  GroupCommit commit(&store, &applied.mu);
  auto a = commit.Enqueue(Update("a"), applied.For("a"));
  auto b = commit.Enqueue(Update("b"), applied.For("b"));
  EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(b)));
  EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(a)));
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a", "b")));
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("a:failed", "b:failed"));
}

}  // namespace
}  // namespace fedge
