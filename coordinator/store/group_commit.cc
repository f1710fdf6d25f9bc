#include "coordinator/store/group_commit.h"

#include <utility>

namespace fedge {

struct GroupCommit::Ticket {
  AckedUpdate update;
  Prepare prepare;
  Apply apply;
  bool done = false;
  absl::Status status;
};

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
  absl::MutexLock lock(&mu_);
  struct Ready {
    GroupCommit* self;
    Ticket* ticket;
    bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
      return ticket->done || self->CanWrite() || self->CanPrepare();
    }
  };
  const Ready ready{this, ticket.get()};
  while (!ticket->done) {
    mu_.Await(absl::Condition(&ready));
    if (CanWrite()) {
      WriteBatch();
    } else if (!ticket->done && CanPrepare()) {
      PrepareBatch();
    }
  }
  return ticket->status;
}

void GroupCommit::PrepareBatch() {
  auto batch = std::make_unique<Batch>();
  batch->tickets.swap(queue_);
  // Taken before the folds: a write failing from now on undoes them.
  batch->failed_writes = failed_writes_;
  preparing_ = true;
  mu_.Unlock();
  {
    absl::MutexLock apply_lock(apply_mu_);
    for (const std::shared_ptr<Ticket>& t : batch->tickets) {
      if (!t->prepare || t->prepare()) batch->rows.updates.push_back(std::move(t->update));
    }
    if (hooks_.progress && !batch->rows.updates.empty()) batch->rows.round_progress = hooks_.progress();
  }
  mu_.Lock();
  preparing_ = false;
  prepared_ = std::move(batch);
}

void GroupCommit::WriteBatch() {
  std::unique_ptr<Batch> batch = std::move(prepared_);
  writing_ = true;
  // Prepared before a write failed: on state that was undone since.
  const bool stale = batch->failed_writes != failed_writes_;
  absl::Status stored = stale ? last_failure_ : absl::OkStatus();
  mu_.Unlock();
  AckBatch& rows = batch->rows;
  if (!stale && !rows.updates.empty()) stored = store_->AppendUpdates(rows);
  {
    // The callbacks run in row order, so what they fold is folded in the
    // order a restart replays it.
    absl::MutexLock apply_lock(apply_mu_);
    if (!stale && hooks_.stored && !rows.updates.empty()) hooks_.stored(stored, std::move(rows.round_progress));
    for (const std::shared_ptr<Ticket>& t : batch->tickets) t->apply(stored);
  }
  mu_.Lock();
  if (!stale && !stored.ok()) {
    ++failed_writes_;
    last_failure_ = stored;
  }
  for (const std::shared_ptr<Ticket>& t : batch->tickets) {
    t->status = stored;
    t->done = true;
  }
  writing_ = false;
  ++stats_.batches;
  stats_.updates += static_cast<int64_t>(rows.updates.size());
}

GroupCommit::Stats GroupCommit::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace fedge
