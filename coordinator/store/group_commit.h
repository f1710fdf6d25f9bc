// File: coordinator/store/group_commit.h
//
// `GroupCommit` batches the acknowledged-update appends of concurrent
// uploads into one `StateStore::AppendUpdates` call: one transaction and one
// fsync for every update that arrived while the previous batch was being
// written (classic group commit). With `durability = "full"` the
// acknowledgement rate is then no longer bounded by one fsync per upload.
//
// Two threads of its own do the work, in two stages that overlap, so an
// upload only queues its update and sleeps until its own batch is answered
// (it is woken alone: a waiter per ticket, no herd of waiters re-checking a
// shared condition). The preparer, with `*apply_mu` held, takes every
// queued update, runs each one's `Prepare` callback in queue order and asks
// `Hooks::progress` for the state to store with the batch. The writer writes
// the prepared batch without the lock; then, with `*apply_mu` held again,
// calls `Hooks::stored` and each update's `Apply` callback in queue order,
// and only then wakes the batch's waiters. So the next batch is prepared
// while the previous one is written and synced (the sync is what bounds a
// durable coordinator), but batches are written one at a time in the order
// they were prepared, and the order of the callbacks is exactly the order
// of the rows in the store: the Federation folds updates into its aggregate
// in these callbacks, which keeps the aggregation order equal to the replay
// order after a restart (determinism). Updates enqueued under `*apply_mu`
// one after another go into one batch (the preparer needs that lock to
// take them).
//
// Two ways to use it (coordinator/store/README.md): updates stored with
// their bytes are folded in Apply, once durable; a checkpointed round folds
// them in Prepare, stores its progress (Hooks::progress) with the batch, and
// undoes the folds in Hooks::stored if the write failed. A batch prepared
// before such an undo was prepared on state that no longer exists: it is
// not written, and its Apply callbacks see the failed write's error (no
// Hooks::stored call: the undo already covered its folds).
//
// Contract: Apply sees the batch's store status. OK means the update is
// durable (the store's contract); an error means no update of the batch was
// stored (AppendUpdates is all or nothing). An update whose Prepare returned
// false is left out of the write; its callbacks keep their own reason. A
// batch left with nothing to write is not written (no Hooks call).
//
// Ownership: the store, apply_mu and whatever the callbacks use are
// borrowed and must outlive this; the destructor answers every update
// queued, then joins its threads.
// Thread-safety: Enqueue and Wait may be called from any thread. Enqueue
// may be called with *apply_mu held (the Federation enqueues under its lock,
// which fixes the order); Wait and the destructor must be called WITHOUT
// *apply_mu held.
#ifndef FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_
#define FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "coordinator/store/state_store.h"

namespace fedge {

class GroupCommit {
 public:
  // Runs once the update's batch was written (OK) or failed (the error),
  // with *apply_mu held, in queue order, before Wait returns for it.
  using Apply = std::function<void(const absl::Status& stored)>;
  // Runs with *apply_mu held, in queue order, before the batch is written;
  // false leaves the update out of it. Null: always stored.
  using Prepare = std::function<bool()>;

  // Batch-level callbacks, with *apply_mu held; either may be null.
  struct Hooks {
    // After the batch's Prepare callbacks: AckBatch::round_progress.
    std::function<std::string()> progress;
    // After a write, before the Apply callbacks, with its status and the
    // progress it held (from `progress`).
    std::function<void(const absl::Status& stored, std::string progress)> stored;
  };

  // One queued update; opaque to callers.
  struct Ticket;

  GroupCommit(StateStore* store, absl::Mutex* apply_mu, Hooks hooks = {});
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `update`; cheap (no I/O). Pass the ticket to Wait.
  std::shared_ptr<Ticket> Enqueue(AckedUpdate update, Prepare prepare, Apply apply);

  // Blocks until the ticket's batch is written and applied; returns the
  // store's status for it.
  absl::Status Wait(const std::shared_ptr<Ticket>& ticket);

  // Batches written so far and the updates they held (tests, benchmarks).
  struct Stats {
    int64_t batches = 0;
    int64_t updates = 0;
  };
  Stats stats() const;

 private:
  struct Batch {
    std::vector<std::shared_ptr<Ticket>> tickets;
    AckBatch rows;
    uint64_t failed_writes = 0;  // failed_writes_ when it was taken
  };
  // The two threads' loops; each returns once stopping_ is set and nothing
  // is left for it.
  void PrepareLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void WriteLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // The batch of every update queued, folded; null if none was queued.
  std::unique_ptr<Batch> PrepareBatch() ABSL_LOCKS_EXCLUDED(mu_);
  void WriteBatch(Batch& batch) ABSL_LOCKS_EXCLUDED(mu_);

  StateStore* const store_;
  absl::Mutex* const apply_mu_;
  const Hooks hooks_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Ticket>> queue_ ABSL_GUARDED_BY(mu_);
  // Handed from the preparer to the writer; the preparer waits while one
  // is there, so at most one batch waits while another is written.
  std::unique_ptr<Batch> prepared_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool preparer_done_ ABSL_GUARDED_BY(mu_) = false;  // stopped, queue empty
  // Failed writes so far (their Hooks::stored undid the folds of every
  // batch prepared before), and the last one's error.
  uint64_t failed_writes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // Last: started once everything above is constructed.
  std::thread preparer_;
  std::thread writer_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_
