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
  absl::Status first_result = absl::OkStatus();  // of the first write only
  bool hold_first = false;
  absl::Notification first_entered;
  absl::Notification release_first;

  absl::Status AppendUpdates(const AckBatch& batch) override {
    std::vector<std::string> ids;
    for (const AckedUpdate& u : batch.updates) ids.push_back(u.task_id);
    {
      absl::MutexLock lock(&mu);
      batches.push_back(ids);
      progress.push_back(batch.round_progress);
    }
    const bool first = !first_entered.HasBeenNotified();
    if (first) first_entered.Notify();
    if (hold_first && first) release_first.WaitForNotification();
    return first && !first_result.ok() ? first_result : result;
  }
  std::vector<std::vector<std::string>> Batches() {
    absl::MutexLock lock(&mu);
    return batches;
  }
  std::vector<std::string> Progress() {
    absl::MutexLock lock(&mu);
    return progress;
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
  absl::StatusOr<std::optional<StoredDeployment>> LoadDeployment(uint64_t) override { return std::nullopt; }
  absl::Status SaveRollout(const std::string&) override { return absl::OkStatus(); }

 private:
  absl::Mutex mu;
  std::vector<std::vector<std::string>> batches ABSL_GUARDED_BY(mu);
  std::vector<std::string> progress ABSL_GUARDED_BY(mu);
};

AckedUpdate Update(const std::string& task) { return AckedUpdate{1, task, "device-" + task, "bytes"}; }

struct Applied {
  absl::Mutex mu;
  std::vector<std::string> order ABSL_GUARDED_BY(mu);
  GroupCommit::Hooks Hooks() {
    GroupCommit::Hooks hooks;
    hooks.progress = [this] {
      mu.AssertHeld();
      return absl::StrCat("progress ", order.size());
    };
    hooks.stored = [this](const absl::Status& stored, std::string progress) {
      mu.AssertHeld();
      order.push_back(absl::StrCat("stored ", progress, stored.ok() ? "" : ":failed"));
    };
    return hooks;
  }
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
  std::shared_ptr<GroupCommit::Ticket> b, c, d;
  {
    absl::MutexLock lock(&applied.mu);  // enqueued together, as the Federation does
    b = commit.Enqueue(Update("b"), applied.For("b"));
    c = commit.Enqueue(Update("c"), applied.For("c"));
    d = commit.Enqueue(Update("d"), applied.For("d"));
  }
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
  std::shared_ptr<GroupCommit::Ticket> a, b;
  {
    absl::MutexLock lock(&applied.mu);
    a = commit.Enqueue(Update("a"), applied.For("a"));
    b = commit.Enqueue(Update("b"), applied.For("b"));
  }
  EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(b)));
  EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(a)));
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a", "b")));
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("a:failed", "b:failed"));
}

// A checkpointed round: its progress is taken with the batch, and the
// write's outcome reaches the hook before any Apply.
TEST(GroupCommitTest, TheProgressGoesWithTheBatchAndTheHookSeesTheWriteFirst) {
  RecordingStore store;
  store.result = absl::ResourceExhaustedError("disk full");
  Applied applied;
  GroupCommit::Hooks hooks;
  hooks.progress = [&]() {
    applied.mu.AssertHeld();
    applied.order.push_back("progress");
    return std::string("state after a, b");
  };
  hooks.stored = [&](const absl::Status& stored, std::string progress) {
    applied.mu.AssertHeld();
    applied.order.push_back(absl::StrCat("stored:", stored.ToString(), " with ", progress));
  };
  GroupCommit commit(&store, &applied.mu, hooks);
  std::shared_ptr<GroupCommit::Ticket> b;
  {
    absl::MutexLock lock(&applied.mu);
    commit.Enqueue(Update("a"), applied.For("a"));
    b = commit.Enqueue(Update("b"), applied.For("b"));
  }
  EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(b)));
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a", "b")));
  EXPECT_THAT(store.Progress(), ElementsAre("state after a, b"));
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("progress", "stored:RESOURCE_EXHAUSTED: disk full with state after a, b",
                                         "a:failed", "b:failed"));
}

// Updates folded on top of a batch whose write then fails are undone with
// it by its hook: they fail with it, unwritten (their progress would count
// the failed batch's updates), and later ones are written again.
TEST(GroupCommitTest, UpdatesQueuedBehindAFailedWriteFailWithIt) {
  RecordingStore store;
  store.hold_first = true;
  store.first_result = absl::ResourceExhaustedError("disk full");
  Applied applied;
  GroupCommit commit(&store, &applied.mu, applied.Hooks());
  std::thread first([&] { EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(commit.Enqueue(Update("a"), applied.For("a"))))); });
  store.first_entered.WaitForNotification();  // "a" is being written
  std::shared_ptr<GroupCommit::Ticket> b;
  {
    absl::MutexLock lock(&applied.mu);
    b = commit.Enqueue(Update("b"), applied.For("b"));
  }
  store.release_first.Notify();
  EXPECT_TRUE(absl::IsResourceExhausted(commit.Wait(b)));
  first.join();
  EXPECT_TRUE(commit.Wait(commit.Enqueue(Update("c"), applied.For("c"))).ok());
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a"), ElementsAre("c")));
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order,
              ElementsAre("stored progress 0:failed", "a:failed", "b:failed", "stored progress 3", "c"));
}

// An update answered by callback: after its Apply, with no lock held, and
// Wait still works for it.
TEST(GroupCommitTest, DoneRunsAfterApplyWithoutTheApplyLock) {
  RecordingStore store;
  Applied applied;
  GroupCommit commit(&store, &applied.mu);
  absl::Notification answered;
  absl::Status seen = absl::UnknownError("not called");
  std::shared_ptr<GroupCommit::Ticket> a;
  {
    absl::MutexLock lock(&applied.mu);
    a = commit.Enqueue(Update("a"), applied.For("a"), [&](const absl::Status& stored) {
      EXPECT_TRUE(applied.mu.TryLock()) << "Done ran with the apply lock held";
      applied.order.push_back("done a");
      applied.mu.Unlock();
      seen = stored;
      answered.Notify();
    });
  }
  answered.WaitForNotification();
  EXPECT_TRUE(seen.ok());
  EXPECT_TRUE(commit.Wait(a).ok());
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("a", "done a"));
}

// Its own thread does the work: an update nobody waits for is still written
// and answered, at the latest when the GroupCommit is destroyed.
TEST(GroupCommitTest, TheDestructorAnswersEveryQueuedUpdate) {
  RecordingStore store;
  Applied applied;
  {
    GroupCommit commit(&store, &applied.mu);
    absl::MutexLock lock(&applied.mu);  // released before commit is destroyed
    commit.Enqueue(Update("a"), applied.For("a"));
    commit.Enqueue(Update("b"), applied.For("b"));
  }
  EXPECT_THAT(store.Batches(), ElementsAre(ElementsAre("a", "b")));
  absl::MutexLock lock(&applied.mu);
  EXPECT_THAT(applied.order, ElementsAre("a", "b"));
}

}  // namespace
}  // namespace fedge
