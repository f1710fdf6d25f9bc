#include "coordinator/store/group_commit.h"

#include <utility>

namespace fedge {

struct GroupCommit::Ticket {
  AckedUpdate update;
  Prepare prepare;
  Apply apply;
  absl::Status status;  // written before `done` is notified
  absl::Notification done;
};

GroupCommit::GroupCommit(StateStore* store, absl::Mutex* apply_mu, Hooks hooks)
    : store_(store),
      apply_mu_(apply_mu),
      hooks_(std::move(hooks)),
      preparer_([this] { PrepareLoop(); }),
      writer_([this] { WriteLoop(); }) {}

GroupCommit::~GroupCommit() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  preparer_.join();
  writer_.join();
}

std::shared_ptr<GroupCommit::Ticket> GroupCommit::Enqueue(AckedUpdate update, Prepare prepare, Apply apply) {
  auto ticket = std::make_shared<Ticket>();
  ticket->update = std::move(update);
  ticket->prepare = std::move(prepare);
  ticket->apply = std::move(apply);
  absl::MutexLock lock(&mu_);
  queue_.push_back(ticket);
  return ticket;
}

absl::Status GroupCommit::Wait(const std::shared_ptr<Ticket>& ticket) {
  ticket->done.WaitForNotification();
  return ticket->status;
}

void GroupCommit::PrepareLoop() {
  struct Ready {
    GroupCommit* self;
    bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
      return self->queue_.empty() ? self->stopping_ : self->prepared_ == nullptr;
    }
  };
  const Ready ready{this};
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) {  // stopping, and nothing left to take
        preparer_done_ = true;
        return;
      }
    }
    std::unique_ptr<Batch> batch = PrepareBatch();
    absl::MutexLock lock(&mu_);
    prepared_ = std::move(batch);
  }
}

std::unique_ptr<GroupCommit::Batch> GroupCommit::PrepareBatch() {
  auto batch = std::make_unique<Batch>();
  // Taken with the apply lock held, so updates enqueued together under it
  // stay together, and a failed write's undo is either before these folds
  // (counted in failed_writes) or after them (undoing them too).
  absl::MutexLock apply_lock(apply_mu_);
  {
    absl::MutexLock lock(&mu_);
    batch->tickets.swap(queue_);
    batch->failed_writes = failed_writes_;
  }
  for (const std::shared_ptr<Ticket>& t : batch->tickets) {
    if (!t->prepare || t->prepare()) batch->rows.updates.push_back(std::move(t->update));
  }
  if (hooks_.progress && !batch->rows.updates.empty()) batch->rows.round_progress = hooks_.progress();
  return batch;
}

void GroupCommit::WriteLoop() {
  struct Ready {
    GroupCommit* self;
    bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
      return self->prepared_ != nullptr || self->preparer_done_;
    }
  };
  const Ready ready{this};
  for (;;) {
    std::unique_ptr<Batch> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&ready));
      if (prepared_ == nullptr) return;  // the preparer stopped
      batch = std::move(prepared_);
    }
    WriteBatch(*batch);
  }
}

void GroupCommit::WriteBatch(Batch& batch) {
  AckBatch& rows = batch.rows;
  bool stale;
  absl::Status stored;
  {
    absl::MutexLock lock(&mu_);
    // Prepared before a write failed: on state that was undone since.
    stale = batch.failed_writes != failed_writes_;
    if (stale) stored = last_failure_;
  }
  const bool write = !stale && !rows.updates.empty();
  if (write) stored = store_->AppendUpdates(rows);
  {
    // The callbacks run in row order, so what they fold is folded in the
    // order a restart replays it.
    absl::MutexLock apply_lock(apply_mu_);
    if (write && !stored.ok()) {
      absl::MutexLock lock(&mu_);
      ++failed_writes_;
      last_failure_ = stored;
    }
    if (write && hooks_.stored) hooks_.stored(stored, std::move(rows.round_progress));
    for (const std::shared_ptr<Ticket>& t : batch.tickets) t->apply(stored);
  }
  {
    absl::MutexLock lock(&mu_);
    ++stats_.batches;
    stats_.updates += static_cast<int64_t>(rows.updates.size());
  }
  for (const std::shared_ptr<Ticket>& t : batch.tickets) {
    t->status = stored;
    t->done.Notify();
  }
}

GroupCommit::Stats GroupCommit::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace fedge
