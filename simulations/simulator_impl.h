// File: simulations/simulator_impl.h
//
// Internal to the simulator (simulator.cc, simulator_async.cc,
// simulator_secagg.cc); not installed. Simulator::Impl holds one run's
// Federation, population, clock and workers; DeviceRun is one sampled
// device for one round or async task.
#ifndef FEDGE_SIMULATIONS_SIMULATOR_IMPL_H_
#define FEDGE_SIMULATIONS_SIMULATOR_IMPL_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/device.h"
#include "client/trainer.h"
#include "coordinator/federation.h"
#include "coordinator/store/sqlite_state_store.h"
#include "gateway/gateway.h"
#include "core/env.h"
#include "core/random.h"
#include "core/sealing.h"
#include "core/signing.h"
#include "models/torch_evaluator.h"
#include "simulations/attacking_trainer.h"
#include "simulations/availability.h"
#include "simulations/deploy_sim.h"
#include "simulations/device_trainers.h"
#include "simulations/drift_sim.h"
#include "simulations/grpc_loopback.h"
#include "simulations/privacy_runtime.h"
#include "simulations/remote_training.h"
#include "simulations/sim_state.h"
#include "simulations/simulator.h"
#include "simulations/virtual_device.h"

namespace fedge {

// A sampled device materialised for one round: alive from its training
// (Device::PrepareStep, on a worker) to its upload (FinishStep, on the
// driving thread in arrival order). Members borrow from the ones declared
// before them; held by pointer, never moved. The trainer (and its attacking
// wrapper) is released once PrepareStep returns (Device::FinishStep).
struct DeviceRun {
  std::string id;
  std::optional<DevicePrivacy> privacy;
  std::unique_ptr<TorchTrainer> trainer;
  // The rank that trains it (fedge-sim --mpi; 0: this process) and, on
  // another rank, the decorator that sends its training there.
  int owner = 0;
  std::unique_ptr<Trainer> remote;
  std::optional<AttackingTrainer> attacking;
  std::unique_ptr<FakeClock> clock;  // the device's own
  std::unique_ptr<SimLink> link;
  std::unique_ptr<SimTrainer> sim_trainer;
  std::unique_ptr<Device> device;
  bool prepared = false;           // PrepareStep returned: FinishStep is due
  StepResult step;                 // PrepareStep's, then FinishStep's
  absl::Status status;             // the task's outcome as the device saw it
  bool simulated_failure = false;  // dropout or deadline, not a real error
  // When its waiting update would reach the coordinator (none: never).
  std::optional<absl::Time> arrival;
  // Secure aggregation: the last stage its link's dropout was drawn for, and
  // whether the device has settled already (RunSecAggStages).
  int dropout_drawn_for = -1;
  bool finished = false;
};

struct Simulator::Impl {
  Scenario scenario;
  DeterministicRandom secagg_graph_random{DeriveSeed(scenario.seed, 0x67726170ULL)};
  SimulationData data;
  // Every device's profile (with the `sample` partition without its shard,
  // which Materialise regenerates from the seed) and the malicious ones.
  PopulationSetup setup;
  PopulationBytes population_bytes;  // heap held for the population after setup
  absl::flat_hash_map<std::string, size_t> index_of;
  // Once a round has succeeded, devices evidently can train, so a later
  // round where every device fails (e.g. the model diverged under attack)
  // is an outcome to record, not a setup error to stop at.
  bool any_round_succeeded = false;
  FakeClock clock;  // the coordinator's, i.e. the simulation's, clock
  absl::Time start;
  std::unique_ptr<TorchEvaluator> evaluator;
  std::unique_ptr<PrivacyRuntime> privacy;  // declared before the Federation, which borrows its noise source
  int64_t num_elements = 0;                 // parameters of the model
  // The deployed int8 model ([deploy]); null without. Declared before the
  // Federation, which borrows its deployer.
  std::unique_ptr<DeploySimulation> deploy;
  // A durable run ([run] state_dir): the coordinator's store and the
  // simulator's files beside it; null / nullopt without. Declared before
  // the Federation, which borrows the store.
  std::unique_ptr<SqliteStateStore> store;
  std::optional<SimState> sim_state;
  // Durable runs: the rows of every completed round, saved after each.
  std::vector<RoundRow> rows;
  // The rows of the rounds completed before this process (a resumed run).
  std::vector<RoundRow> resumed_rows;
  FaultPoint fault_point;  // DurableOptions::fault_point
  void Fault(std::string_view event) const {
    if (fault_point) fault_point(event);
  }
  std::unique_ptr<Federation> federation;
  std::unique_ptr<GrpcLoopback> loopback;  // declared after the Federation it serves
  Transport* coordinator = nullptr;        // how devices reach the Federation
  VerifyKey verify_key;
  // Per-device state that outlives a device's materialisation (the update
  // encoder's error-feedback residual), one folder per device; empty for
  // stateless codecs. A fresh temporary folder, so runs never share state.
  std::string state_root;
  bool owns_state_root = false;  // a temporary folder (not a durable run's)
  // Seals that state as fedge-device does; a fresh key per run, stored only
  // in a durable run's state directory.
  std::optional<SealingKey> state_key;
  // Drifting device data and the devices' drift response ([drift]); null without.
  std::unique_ptr<DriftSimulation> drift;
  int64_t round_in_progress = 0;  // the round PrepareDevice trains for
  // Diurnal availability by population index ([devices] diurnal_period_s);
  // empty when every device is always online.
  std::vector<DiurnalWindow> windows;
  // Asynchronous mode ([federation] mode = "async"; RunAsyncStep).
  struct InFlight {
    size_t index = 0;
    DeviceProfile profile;  // its link borrows it
    std::unique_ptr<DeviceRun> run;
  };
  std::vector<std::unique_ptr<InFlight>> in_flight;
  std::vector<bool> training;  // by index: in flight
  // By index: the global version at which the device last could not take a
  // task (offline draw, dropout, none offered); it tries again once the
  // version changes.
  std::vector<uint64_t> idle_at_version;
  uint64_t launches = 0;
  ThreadPool pool;
  // The two-tier topology ([gateway] sites > 0; simulator_gateway.cc): the
  // gateways the Federation sees as its devices, and each one's devices by
  // population index.
  std::vector<std::unique_ptr<Gateway>> gateways;
  std::vector<std::vector<size_t>> site_members;
  absl::flat_hash_map<std::string, size_t> gateway_index;
  // Creates the gateways, registers each device with its own and has the
  // gateways join the Federation.
  absl::Status SetUpGateways();
  // One coordinator round: the selected sites' devices train and upload to
  // their gateway, each gateway forwards one combined update.
  absl::StatusOr<RoundRow> RunTwoTierRound();
  // fedge-sim --mpi: the other ranks that train part of each cohort, and
  // the threads that wait on them (null without).
  RemoteTraining* remote = nullptr;
  std::unique_ptr<ThreadPool> remote_pool;

  Impl(const Scenario& s, SimulationData d, VerifyKey key)
      : scenario(s), data(std::move(d)), verify_key(std::move(key)), pool(s.run.workers) {}
  ~Impl() {
    if (owns_state_root) {
      std::error_code ignored;
      std::filesystem::remove_all(state_root, ignored);
    }
  }

  // Device `index`'s profile with its shard, for one round.
  DeviceProfile Materialise(size_t index) const;
  int64_t ShardSize(size_t index) const {
    return setup.sample ? setup.sample->ShardSize(static_cast<int64_t>(index))
                        : static_cast<int64_t>(setup.population[index].examples.size());
  }
  // The device's trainer over its data this round (poisoned, drifted or
  // styled as the scenario says).
  absl::StatusOr<std::unique_ptr<TorchTrainer>> MakeTrainer(const DeviceProfile& profile,
                                                            const TorchTrainerOptions& options) const;
  // Materialises the device into `run` and runs it up to its upload, over a
  // link to `server` (null: the coordinator).
  void PrepareDevice(const DeviceProfile& profile, const RoundFate& fate, absl::Time opened, absl::Time deadline,
                     DeviceRun& run, Transport* server = nullptr);
  // Uploads the device's waiting update, if any, and lets it settle.
  void FinishDevice(DeviceRun& run);
  // Secure aggregation (simulations/README.md): drives the cohort's
  // exchanges stage by stage, in device id order, each device's link lost
  // at each stage with probability devices.secagg_dropout; when no device
  // can move, the coordinator's clock jumps a stage timeout so the stage
  // closes without the missing ones. Returns the round's record if the
  // coordinator closed it meanwhile.
  std::vector<proto::RoundRecord> RunSecAggStages(const std::vector<std::unique_ptr<DeviceRun>>& runs,
                                                  uint64_t round);
  // The outcome of the device's task, classified once it has finished.
  void Classify(DeviceRun& run) const;
  // Diurnal availability: whether device `index` is online at `t`, and its
  // update held until it has been online long enough to finish (training
  // and upload pause while it is offline), `started` being when it began.
  bool OnlineAt(size_t index, absl::Time t) const { return windows.empty() || windows[index].OnlineAt(t - start); }
  void HoldForAvailability(size_t index, absl::Time started, DeviceRun& run) const;
  // Asynchronous mode: runs devices whenever they are online until the
  // Federation takes its next server step, and returns that step's row.
  absl::StatusOr<RoundRow> RunAsyncStep();
  // Starts every idle online device (up to [async] max_concurrent in
  // training) at the current time; false when none could start.
  absl::Status LaunchIdleDevices();
  // The earliest time after now at which an idle device comes online.
  std::optional<absl::Time> NextDeviceOnline() const;
  // The report row of a closed round.
  absl::StatusOr<RoundRow> MakeRow(const proto::RoundRecord& record, int64_t malicious_accepted);
  // A resumed run (store and sim_state set): puts the devices back to where
  // the stored coordinator is and sets the clock; returns the round whose
  // row must be rebuilt once the Federation runs (0: none).
  absl::StatusOr<uint64_t> Reconcile(const std::string& dir);
  // A resumed run whose last round closed at the coordinator but whose row
  // was not saved: the row from the stored record.
  absl::Status RecoverRow(uint64_t round, const std::vector<std::string>& accepted);
  std::vector<std::string> recovered_accepted;  // devices acknowledged in that round
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_SIMULATOR_IMPL_H_
