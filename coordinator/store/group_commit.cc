#include "coordinator/store/group_commit.h"

#include <pthread.h>

#include <utility>

namespace fedge {

struct GroupCommit::Ticket {
  AckedUpdate update;
  Apply apply;
  Done on_done;
  absl::Status status;  // written before `done` is notified
  absl::Notification done;
};

GroupCommit::GroupCommit(StateStore* store, absl::Mutex* apply_mu, Hooks hooks)
    : store_(store), apply_mu_(apply_mu), hooks_(std::move(hooks)), writer_([this] { WriteLoop(); }) {}

GroupCommit::~GroupCommit() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  writer_.join();
}

std::shared_ptr<GroupCommit::Ticket> GroupCommit::Enqueue(AckedUpdate update, Apply apply, Done done) {
  auto ticket = std::make_shared<Ticket>();
  ticket->update = std::move(update);
  ticket->apply = std::move(apply);
  ticket->on_done = std::move(done);
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(ticket));
  return queue_.back();
}

absl::Status GroupCommit::Wait(const std::shared_ptr<Ticket>& ticket) {
  ticket->done.WaitForNotification();
  return ticket->status;
}

void GroupCommit::WriteLoop() {
  pthread_setname_np(pthread_self(), "fedge-commit");  // names it in top, perf and gdb
  while (WriteQueued()) {
  }
}

bool GroupCommit::WriteQueued() {
  {
    struct Ready {
      GroupCommit* self;
      bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return !self->queue_.empty() || self->stopping_;
      }
    };
    const Ready ready{this};
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&ready));
    if (queue_.empty()) return false;  // stopping, and nothing left to write
  }
  std::vector<std::shared_ptr<Ticket>> batch;
  AckBatch rows;
  {
    // Taken with the apply lock held, so the progress holds the folds of
    // exactly these updates and of those before them.
    absl::MutexLock apply_lock(apply_mu_);
    {
      absl::MutexLock lock(&mu_);
      batch.swap(queue_);
    }
    for (const std::shared_ptr<Ticket>& t : batch) rows.updates.push_back(std::move(t->update));
    if (hooks_.progress) rows.round_progress = hooks_.progress();
  }
  const absl::Status stored = store_->AppendUpdates(rows);
  {
    absl::MutexLock apply_lock(apply_mu_);
    if (hooks_.stored) hooks_.stored(stored, std::move(rows.round_progress));
    if (!stored.ok()) {
      // The hook undid every fold since the last stored progress: those of
      // the updates queued meanwhile too. They fail with this batch.
      absl::MutexLock lock(&mu_);
      batch.insert(batch.end(), queue_.begin(), queue_.end());
      queue_.clear();
    }
    // The callbacks run in row order, so what they fold is folded in the
    // order a restart replays it.
    for (const std::shared_ptr<Ticket>& t : batch) t->apply(stored);
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.batches;
    stats_.updates += static_cast<int64_t>(rows.updates.size());
  }
  for (const std::shared_ptr<Ticket>& t : batch) {
    t->status = stored;
    t->done.Notify();
    if (t->on_done) std::move(t->on_done)(stored);
  }
  return true;
}

GroupCommit::Stats GroupCommit::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace fedge
