// File: simulations/mpi_channel.h
//
// Open MPI under `fedge-sim run --mpi` (simulations/README.md, "Over MPI"):
// the session (MPI_Init_thread / MPI_Finalize), rank 0's TrainingChannel to
// the worker ranks, and the worker ranks' serving loop. Every MPI error
// becomes an absl::Status naming the call (MPI_ERRORS_RETURN, not abort).
//
// Waiting: Open MPI's blocking calls spin a core while they wait, which on
// a small or shared machine takes the core from training. Every wait here
// is a non-blocking call polled with a short, growing pause (at most 1 ms):
// a reply waits at most that long more, a training takes tens of
// milliseconds at least.
//
// Messages: rank 0 sends requests (simulations/mpi_messages.h) with a tag of
// its own choosing; the worker answers on the same tag, so concurrent calls
// from rank 0's threads each receive their own reply.
//
// Linked into the fedge-sim binary only: the libraries stay free of MPI.
// Thread-safety: needs MPI_THREAD_MULTIPLE (Init refuses otherwise); a
// channel may be used from any number of threads.
#ifndef FEDGE_SIMULATIONS_MPI_CHANNEL_H_
#define FEDGE_SIMULATIONS_MPI_CHANNEL_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "simulations/remote_training.h"

namespace fedge {

// MPI for this process, from Init to destruction (MPI_Finalize).
class MpiSession {
 public:
  // kUnavailable when MPI cannot start or lacks MPI_THREAD_MULTIPLE.
  static absl::StatusOr<std::unique_ptr<MpiSession>> Init();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  MpiSession(int rank, int size) : rank_(rank), size_(size) {}
  const int rank_;
  const int size_;
};

// Rank 0's channel to the other ranks of the session.
class MpiChannel final : public TrainingChannel {
 public:
  // `session` is borrowed and must outlive the channel. REQUIRES: rank 0.
  explicit MpiChannel(const MpiSession* session) : session_(session) {}

  int ranks() const override { return session_->size(); }
  absl::StatusOr<std::string> Call(int rank, std::string request) override;

  // Tells every worker rank to finish and return from ServeMpiWorker. Call
  // once, on every way out of rank 0 after the session started (a worker
  // left waiting keeps mpirun from ending).
  absl::Status StopWorkers();

 private:
  const MpiSession* const session_;
  std::atomic<int> next_tag_{0};
};

// A worker rank: answers rank 0's requests with `server` on `threads`
// threads until rank 0 stops it. An MPI error ends it with its status.
absl::Status ServeMpiWorker(const TrainingServer& server, int threads);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_MPI_CHANNEL_H_
