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
      return ticket->done || (!self->writing_ && !self->queue_.empty());
    }
  };
  const Ready ready{this, ticket.get()};
  while (!ticket->done) {
    mu_.Await(absl::Condition(&ready));
    if (!ticket->done) CommitBatch();
  }
  return ticket->status;
}

void GroupCommit::CommitBatch() {
  std::vector<std::shared_ptr<Ticket>> batch;
  batch.swap(queue_);
  writing_ = true;
  mu_.Unlock();
  AckBatch rows;
  rows.updates.reserve(batch.size());
  {
    absl::MutexLock apply_lock(apply_mu_);
    for (const std::shared_ptr<Ticket>& t : batch) {
      if (!t->prepare || t->prepare()) rows.updates.push_back(std::move(t->update));
    }
    if (hooks_.progress && !rows.updates.empty()) rows.round_progress = hooks_.progress();
  }
  const absl::Status stored = rows.updates.empty() ? absl::OkStatus() : store_->AppendUpdates(rows);
  {
    // The callbacks run in row order, so what they fold is folded in the
    // order a restart replays it.
    absl::MutexLock apply_lock(apply_mu_);
    if (hooks_.stored && !rows.updates.empty()) hooks_.stored(stored);
    for (const std::shared_ptr<Ticket>& t : batch) t->apply(stored);
  }
  mu_.Lock();
  for (const std::shared_ptr<Ticket>& t : batch) {
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
