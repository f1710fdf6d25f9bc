// File: coordinator/store/group_commit.h
//
// `GroupCommit` batches the acknowledged-update appends of concurrent
// uploads into one `StateStore::AppendUpdates` call: one transaction and one
// fsync for every update that arrived while the previous batch was being
// written (classic group commit). With `durability = "full"` the
// acknowledgement rate is then no longer bounded by one fsync per upload.
//
// There is no background thread: the callers of Wait() do the work, in two
// stages that overlap. A caller that finds updates queued and no batch
// prepared yet takes every queued update and, with `*apply_mu` held, runs
// each one's `Prepare` callback in queue order and asks `Hooks::progress`
// for the state to store with the batch. A caller that finds a prepared
// batch and no write in progress writes it without the lock; then, with
// `*apply_mu` held again, calls `Hooks::stored` and each update's `Apply`
// callback in queue order, and only then lets the batch's waiters return.
// So the next batch is prepared while the previous one is written and
// synced (the sync is what bounds a durable coordinator), but batches are
// written one at a time in the order they were prepared, and the order of
// the callbacks is exactly the order of the rows in the store: the
// Federation folds updates into its aggregate in these callbacks, which
// keeps the aggregation order equal to the replay order after a restart
// (determinism).
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
// Ownership: the store and apply_mu are borrowed and must outlive this.
// Thread-safety: Enqueue and Wait may be called from any thread. Enqueue
// may be called with *apply_mu held (the Federation enqueues under its lock,
// which fixes the order); Wait must be called WITHOUT *apply_mu held.
#ifndef FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_
#define FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
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

  GroupCommit(StateStore* store, absl::Mutex* apply_mu, Hooks hooks = {})
      : store_(store), apply_mu_(apply_mu), hooks_(std::move(hooks)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `update`; cheap (no I/O). Pass the ticket to Wait.
  std::shared_ptr<Ticket> Enqueue(AckedUpdate update, Prepare prepare, Apply apply);

  // Blocks until the ticket's batch is written and applied; returns the
  // store's status for it. The caller may prepare or write batches itself.
  absl::Status Wait(const std::shared_ptr<Ticket>& ticket) ABSL_LOCKS_EXCLUDED(mu_);

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
  bool CanPrepare() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !preparing_ && !prepared_ && !queue_.empty(); }
  bool CanWrite() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !writing_ && prepared_ != nullptr; }
  // Each is called with mu_ held and releases it meanwhile.
  void PrepareBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  StateStore* const store_;
  absl::Mutex* const apply_mu_;
  const Hooks hooks_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Ticket>> queue_ ABSL_GUARDED_BY(mu_);
  bool preparing_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<Batch> prepared_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  // Failed writes so far (their Hooks::stored undid the folds of every
  // batch prepared before), and the last one's error.
  uint64_t failed_writes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_failure_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_
