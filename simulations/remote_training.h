// File: simulations/remote_training.h
//
// Splitting a round's training over several processes (`fedge-sim run
// --mpi`, simulations/README.md "Over MPI") without moving any device state.
//
// Rank 0 runs the simulator as always: the Federation, every device's
// folder, error-feedback residual and privacy ledger, the upload order. Only
// the Trainer's Train call of a device another rank owns travels: rank 0's
// `RemoteTraining` wraps that device's trainer in a decorator that sends
// (device index, global parameters, TrainConfig, seed, DP noise seed) to the
// owning rank and returns its TrainResult, whose parameters come back as
// their exact float bits. The device then encodes and uploads on rank 0
// exactly as if it had trained there.
//
// A worker rank's `TrainingServer` rebuilds the population from the same
// scenario and dataset (simulations/device_trainers.h) and trains the
// requested device with the same TorchTrainer, options, seed and noise
// stream the simulator would have used: the result is the same bits.
//
// The transport is a `TrainingChannel`; simulations/mpi_channel.h is the
// Open MPI one, and tests use an in-process one.
#ifndef FEDGE_SIMULATIONS_REMOTE_TRAINING_H_
#define FEDGE_SIMULATIONS_REMOTE_TRAINING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "client/trainer.h"
#include "core/idx.h"
#include "simulations/device_trainers.h"
#include "simulations/scenario.h"

namespace fedge {

// Request/reply to numbered ranks; rank 0 is the caller's own.
// Thread-safety: implementations must allow concurrent Calls.
class TrainingChannel {
 public:
  virtual ~TrainingChannel() = default;
  // Ranks in the job, rank 0 included (>= 1).
  virtual int ranks() const = 0;
  // Sends `request` to `rank` (1 <= rank < ranks()) and waits for its reply.
  // A non-OK status is a transport failure (e.g. an MPI error), not the
  // request's outcome.
  virtual absl::StatusOr<std::string> Call(int rank, std::string request) = 0;
};

// What a scenario must equal on every rank for remote training to be
// bit-identical: its settings (every key) and the training split it loaded.
std::string ScenarioFingerprint(const Scenario& scenario, const ImageDataset& train);

// kFailedPrecondition naming the feature when a scenario cannot be trained
// remotely ([drift]: the devices' drifting data windows live in rank 0's
// drift simulation).
absl::Status CheckRemoteTrainable(const Scenario& scenario);

// Rank 0's side. Thread-safety: all methods may be called concurrently
// after Start.
class RemoteTraining {
 public:
  // `channel` is borrowed and must outlive this object.
  explicit RemoteTraining(TrainingChannel* channel) : channel_(channel) {}

  // Checks the scenario (CheckRemoteTrainable), then that every other rank
  // loaded the same one (`fingerprint`, ScenarioFingerprint) and could set
  // itself up: kFailedPrecondition naming the rank and its error.
  absl::Status Start(const Scenario& scenario, const std::string& fingerprint);

  int ranks() const { return channel_->ranks(); }
  // The rank that trains the k-th of n training devices of a round: a
  // balanced split in cohort order (rank 0 keeps the first share).
  int OwnerOf(size_t k, size_t n) const;

  // A Trainer that trains population device `device_index` on `rank`.
  // `local` is the device's trainer built on rank 0 (borrowed; must outlive
  // the decorator): it answers everything but Train (layout, example count,
  // privacy plan). `noise_seed` seeds its DP-SGD noise stream
  // (DeviceNoiseSeed, simulations/privacy_runtime.h).
  std::unique_ptr<Trainer> Wrap(Trainer* local, int rank, uint64_t device_index, uint64_t noise_seed);

  // OK, or the first transport failure since Start (an MPI error, a reply
  // that does not decode): the round it happened in cannot be trusted to
  // equal a single-process run, so the simulator stops with it.
  absl::Status status() const;

  // Devices each rank has trained through this object so far (index: rank;
  // rank 0's own devices are not counted here).
  std::vector<int64_t> trained_per_rank() const;

 private:
  class Decorator;
  // Records `status` as the channel's failure (the first one is kept) and
  // returns it, prefixed with the rank.
  absl::Status Fail(int rank, const absl::Status& status);
  // Counts a device `rank` trained.
  void Count(int rank);

  TrainingChannel* const channel_;
  mutable absl::Mutex mu_;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> trained_ ABSL_GUARDED_BY(mu_);
};

// A worker rank's side: answers rank 0's hello and train requests.
// Thread-safety: Handle may be called concurrently.
class TrainingServer {
 public:
  // `train` is the scenario's training split, or the error loading it
  // (reported to rank 0 at the handshake).
  TrainingServer(const Scenario& scenario, absl::StatusOr<ImageDataset> train);

  // The reply to an encoded hello or train request (simulations/
  // mpi_messages.h). Undecodable bytes get an error reply, never a crash.
  std::string Handle(absl::string_view request) const;

 private:
  std::string Hello(absl::string_view request) const;
  absl::StatusOr<TrainResult> Train(absl::string_view request) const;

  const Scenario scenario_;
  ImageDataset train_;
  PopulationSetup setup_;
  absl::Status setup_status_;
  std::string fingerprint_;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_REMOTE_TRAINING_H_
