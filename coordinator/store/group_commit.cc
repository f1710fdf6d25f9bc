#include "coordinator/store/group_commit.h"

#include <utility>

namespace fedge {

struct GroupCommit::Ticket {
  AckedUpdate update;
  Apply apply;
  bool done = false;
  absl::Status status;
};

std::shared_ptr<GroupCommit::Ticket> GroupCommit::Enqueue(AckedUpdate update, Apply apply) {
  auto ticket = std::make_shared<Ticket>();
  ticket->update = std::move(update);
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
  std::vector<AckedUpdate> updates;
  updates.reserve(batch.size());
  for (const std::shared_ptr<Ticket>& t : batch) updates.push_back(std::move(t->update));
  const absl::Status stored = store_->AppendUpdates(updates);
  {
    // The callbacks run in row order, so what they fold is folded in the
    // order a restart replays it.
    absl::MutexLock apply_lock(apply_mu_);
    for (const std::shared_ptr<Ticket>& t : batch) t->apply(stored);
  }
  mu_.Lock();
  for (const std::shared_ptr<Ticket>& t : batch) {
    t->status = stored;
    t->done = true;
  }
  writing_ = false;
  ++stats_.batches;
  stats_.updates += static_cast<int64_t>(batch.size());
}

GroupCommit::Stats GroupCommit::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

}  // namespace fedge
