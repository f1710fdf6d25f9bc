// File: coordinator/store/group_commit.h
//
// `GroupCommit` batches the acknowledged-update appends of concurrent
// uploads into one `StateStore::AppendUpdates` call: one transaction and one
// fsync for every update that arrived while the previous batch was being
// written (classic group commit). With `durability = "full"` the
// acknowledgement rate is then no longer bounded by one fsync per upload.
//
// There is no background thread: the first caller of Wait() that finds no
// batch in progress becomes the leader, takes every queued update, writes
// them in queue order, runs each update's `Apply` callback in that same
// order with `*apply_mu` held, and only then lets the batch's waiters
// return. Batches are written one at a time, so the order of the callbacks
// is exactly the order of the rows in the store: the Federation folds
// updates into its aggregate in the callbacks, which keeps the aggregation
// order equal to the replay order after a restart (determinism).
//
// Contract: Apply sees the batch's store status. OK means the update is
// durable (the store's contract); an error means no update of the batch was
// stored (AppendUpdates is all or nothing).
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

  // One queued update; opaque to callers.
  struct Ticket;

  GroupCommit(StateStore* store, absl::Mutex* apply_mu) : store_(store), apply_mu_(apply_mu) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `update`; cheap (no I/O). Pass the ticket to Wait.
  std::shared_ptr<Ticket> Enqueue(AckedUpdate update, Apply apply);

  // Blocks until the ticket's batch is written and applied; returns the
  // store's status for it. The caller may write a batch itself (leader).
  absl::Status Wait(const std::shared_ptr<Ticket>& ticket) ABSL_LOCKS_EXCLUDED(mu_);

  // Batches written so far and the updates they held (tests, benchmarks).
  struct Stats {
    int64_t batches = 0;
    int64_t updates = 0;
  };
  Stats stats() const;

 private:
  // Writes and applies one batch; called by the leader with mu_ held,
  // releases it meanwhile.
  void CommitBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  StateStore* const store_;
  absl::Mutex* const apply_mu_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Ticket>> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // a leader holds a batch
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_
