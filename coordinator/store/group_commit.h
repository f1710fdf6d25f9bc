// File: coordinator/store/group_commit.h
//
// `GroupCommit` batches the acknowledged-update appends of concurrent
// uploads into one `StateStore::AppendUpdates` call: one transaction and one
// fsync for every update that arrived while the previous batch was being
// written (classic group commit). With `durability = "full"` the
// acknowledgement rate is then no longer bounded by one fsync per upload.
//
// One writer thread of its own does the work, so an upload only queues its
// update (cheap, under the caller's `*apply_mu`) and is answered when its
// batch is: by waiting on its ticket (Wait, woken alone), or by a `Done`
// callback, with which an RPC server's thread returns at once and keeps
// serving while the batch is written. The writer, with `*apply_mu` held,
// takes every queued update and asks `Hooks::progress` for the state to
// store with them; writes the batch without the lock; then, with
// `*apply_mu` held again, calls `Hooks::stored` and each update's `Apply`
// in queue order, and only then answers them. Meanwhile the next uploads
// queue up (and are folded by their callers): the write and its fsync,
// which bound a durable coordinator, overlap the next batch's work.
//
// Order: updates are written, and their callbacks run, in the order they
// were enqueued. The Federation enqueues under `*apply_mu` right after
// folding a checkpointed round's update into its aggregate, so the order of
// the rows is the order of the folds, which keeps the aggregation order
// equal to the replay order after a restart (determinism), and the
// progress taken with a batch holds exactly the folds of its updates and
// of those before it.
//
// Contract: Apply sees the batch's store status. OK means the update is
// durable (the store's contract); an error means no update of the batch was
// stored (AppendUpdates is all or nothing). A failed write also fails every
// update queued behind it, in the same critical section: `Hooks::stored`
// undoes the folds since the last stored progress, theirs included.
//
// Ownership: the store, apply_mu and whatever the callbacks use are
// borrowed and must outlive this; the destructor answers every update
// queued, then joins its thread.
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
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "coordinator/store/state_store.h"

namespace fedge {

class GroupCommit {
 public:
  // Runs once the update's batch was written (OK) or failed (the error),
  // with *apply_mu held, in queue order, before the update is answered.
  using Apply = std::function<void(const absl::Status& stored)>;
  // Runs once the update's batch is answered, after its Apply, with no lock
  // held, on the writer thread: it must not block (hand slow work off).
  using Done = absl::AnyInvocable<void(const absl::Status& stored) &&>;

  // Batch-level callbacks, with *apply_mu held; either may be null.
  struct Hooks {
    // When the batch is taken: AckBatch::round_progress.
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

  // Queues `update`; cheap (no I/O). Pass the ticket to Wait, or pass `done`.
  std::shared_ptr<Ticket> Enqueue(AckedUpdate update, Apply apply, Done done = nullptr);

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
  // The writer's loop; returns once stopping_ is set and the queue is empty.
  void WriteLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes and answers every update queued; false once stopping with
  // nothing queued.
  bool WriteQueued() ABSL_LOCKS_EXCLUDED(mu_);

  StateStore* const store_;
  absl::Mutex* const apply_mu_;
  const Hooks hooks_;
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Ticket>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // Last: started once everything above is constructed.
  std::thread writer_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_GROUP_COMMIT_H_
