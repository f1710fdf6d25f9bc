// File: simulations/simulator.h
//
// `Simulator` runs a scenario (simulations/scenario.h) as a federation of
// virtual devices on one machine, through the same code a deployment runs:
// the coordinator's `Federation` (coordinator/federation.h) and, for every
// sampled device, the device agent `Device` (client/device.h) with a
// LibTorch `TorchTrainer`.
//
// One round:
//   1. The Federation has opened the round and sampled its devices
//      (`selected_devices()`). Only these are materialised — Device,
//      TorchTrainer and example tensors — so a population of 10,000 costs
//      little more memory than the cohort.
//   2. Each sampled device's fate is drawn (offline, drops out) and the
//      online ones run one `Device::RunOnce()` concurrently on a worker
//      pool (one LibTorch thread each), each on its own virtual clock
//      starting at the round's opening: download, train, encode, upload.
//      Their links (SimLink) charge latency and bandwidth and hold the
//      uploads in flight (simulations/virtual_device.h).
//   3. The uploads are delivered to the Federation sequentially in order of
//      simulated arrival (ties by device id) with the coordinator's clock
//      set to each arrival; those arriving after the deadline are dropped.
//      The Federation closes the round at its target or, advanced to the
//      deadline, with what arrived; evaluation on the test set follows.
//   Since floating-point sums depend on order, this fixed delivery order
//   makes every column of rounds.csv except wall time bit-identical for a
//   given seed at any worker count.
//
// Thread-safety: a Simulator is driven from one thread; it runs devices on
// its own pool.
#ifndef FEDGE_SIMULATIONS_SIMULATOR_H_
#define FEDGE_SIMULATIONS_SIMULATOR_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/fault_injection.h"
#include "core/idx.h"
#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fedge {

class RemoteTraining;  // simulations/remote_training.h

// How virtual devices reach the coordinator.
enum class TransportKind {
  kInProcess,  // direct calls into the Federation
  kGrpc,       // gRPC with TLS over 127.0.0.1 (simulations/grpc_loopback.h)
};

// "inprocess" or "grpc"; kInvalidArgument otherwise.
absl::StatusOr<TransportKind> ParseTransportKind(std::string_view name);

struct SimulationData {
  ImageDataset train;
  ImageDataset test;  // may be empty when the scenario never evaluates
};

// Loads Fashion-MNIST from scenario.data.dir (the test split only when
// run.evaluate_every > 0). kNotFound / kInvalidArgument from core/idx.h.
absl::StatusOr<SimulationData> LoadSimulationData(const Scenario& scenario);

// A durable run ([run] state_dir; simulations/README.md, "Durable runs").
struct DurableOptions {
  // The state directory: the coordinator's StateStore plus the simulator's
  // files (simulations/sim_state.h); empty keeps everything in memory.
  std::string dir = {};
  // Continue the run stored in `dir` (fedge-sim run --resume). Without it a
  // stored run is refused, unless `new_run`.
  bool resume = false;
  // Discard the run stored in `dir` and start again (--new-run).
  bool new_run = false;
  // Crash tests only (core/fault_injection.h): called with "round-start"
  // once a round's undo log is written, "delivered" after each upload the
  // coordinator acknowledged, "round-closed" once the coordinator closed the
  // round and before its row is saved; also the Federation's fault_point.
  FaultPoint fault_point = nullptr;
};

class Simulator {
 public:
  // Partitions `data.train`, draws the population, creates the Federation
  // with the initial model and registers every device, then opens round 1.
  // kInvalidArgument for a scenario the components refuse (unknown model,
  // bad codec, empty test set with evaluation on); kUnavailable when the
  // gRPC loopback cannot start.
  //
  // With `durable.dir`, the Federation keeps its state in a SqliteStateStore
  // there and the devices theirs beside it; with `durable.resume` the
  // stored run continues where it stopped, re-running an interrupted round
  // from its start, so it ends exactly as an uninterrupted run would.
  // kFailedPrecondition for a scenario whose state cannot be stored yet
  // (names the key), a stored run without resume/new_run, or settings that
  // differ from the stored run's (names each key); kDataLoss for a state
  // directory the two halves of which disagree.
  static absl::StatusOr<std::unique_ptr<Simulator>> Create(const Scenario& scenario, SimulationData data,
                                                           TransportKind transport = TransportKind::kInProcess,
                                                           const DurableOptions& durable = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Runs the open round to its close and returns its row.
  // kFailedPrecondition once every round has run; kInternal when, before
  // any round has succeeded, no device could train for a reason other than
  // the simulation's own (e.g. a codec the device agent does not support),
  // naming it. Later, such a round is recorded as failed (a model can
  // diverge, e.g. under attack) and the run goes on.
  absl::StatusOr<RoundRow> RunRound();
  bool finished() const;

  // Devices with an empty data shard (never able to train).
  int64_t empty_devices() const;

  // Heap bytes the population holds once set up, for all its devices: the
  // simulator's per-device records (profiles, ids, the attack and privacy
  // tables; with partition = "sample" no shards) plus the coordinator's
  // registry entries. Measured (simulations/heap_usage.h) around building
  // them; 0 where the heap cannot be measured. Devices that are never
  // sampled cost no more later.
  PopulationBytes population_bytes() const;

  // Splits each round's training with the other ranks of `remote`
  // (fedge-sim --mpi, simulations/remote_training.h; borrowed, must outlive
  // the simulator): starts it (the scenario check and the handshake with
  // every rank; its error is returned), then device k of the n that train
  // in a round goes to rank remote->OwnerOf(k, n). Every device's state
  // stays here, so the run is bit-identical to one without. Null trains
  // everything here. A transport failure stops RunRound with its status.
  absl::Status TrainOn(RemoteTraining* remote);

  // The rows of the rounds a resumed run had completed before this process
  // (empty for a new run), oldest first.
  const std::vector<RoundRow>& resumed_rows() const;

  // Writes the current global model to `path` as an unsigned fp32
  // proto::ArtifactBody (core/artifact.h: ParamsFromBody reads it back),
  // serialised deterministically: the same run gives the same bytes.
  absl::Status WriteModel(const std::string& path) const;

 private:
  struct Impl;
  explicit Simulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct RunOptions {
  // Progress and the final summary go here (borrowed); null for silence.
  std::FILE* out = stderr;
  // Redraw a progress bar (a TTY) rather than print plain lines.
  bool tty = false;
  TransportKind transport = TransportKind::kInProcess;
  // Where the reports go; empty means ReportDir(scenario).
  std::string report_dir = {};
  // State directory; empty means the scenario's run.state_dir.
  std::string state_dir = {};
  bool resume = false;   // --resume
  bool new_run = false;  // --new-run
  FaultPoint fault_point = nullptr;  // DurableOptions::fault_point
  // Other ranks to train on (Simulator::TrainOn); borrowed; null: none.
  RemoteTraining* remote = nullptr;
};

// Loads the data, runs every round and writes rounds.csv (after each round),
// summary.json, report.html and final_model.pb (Simulator::WriteModel) to
// <run.out_dir>/<name>/. Returns the report.
absl::StatusOr<RunReport> RunScenario(const Scenario& scenario, const RunOptions& options);

// <run.out_dir>/<name>
std::string ReportDir(const Scenario& scenario);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_SIMULATOR_H_
