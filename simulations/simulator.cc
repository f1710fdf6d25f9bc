#include "simulations/simulator.h"

#include <stdlib.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <optional>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "aggregation/strategy_registry.h"
#include "client/device.h"
#include "client/trainer.h"
#include "compression/codec_spec.h"
#include "coordinator/federation.h"
#include "coordinator/federation_setup.h"
#include "coordinator/store/run_config.h"
#include "coordinator/store/sqlite_state_store.h"
#include "core/artifact.h"
#include "core/file_util.h"
#include "core/env.h"
#include "core/evaluator.h"
#include "core/random.h"
#include "core/sealing.h"
#include "core/signing.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/torch_evaluator.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"
#include "simulations/attack.h"
#include "simulations/attacking_trainer.h"
#include "simulations/availability.h"
#include "simulations/deploy_sim.h"
#include "simulations/device_trainers.h"
#include "simulations/drift_sim.h"
#include "simulations/grpc_loopback.h"
#include "simulations/heap_usage.h"
#include "simulations/partition.h"
#include "simulations/privacy_runtime.h"
#include "simulations/remote_training.h"
#include "simulations/progress.h"
#include "simulations/round_metric.h"
#include "simulations/sample_partition.h"
#include "simulations/sim_state.h"
#include "simulations/simulator_impl.h"
#include "simulations/virtual_device.h"

namespace fedge {
namespace {

// The shared settings' options, with what only a simulation knows: every
// device is registered before the first round, and the update size.
FederationOptions ToFederationOptions(const Scenario& s, int64_t num_elements) {
  // With gateways, the coordinator's devices are the sites.
  const int64_t devices = s.two_tier() ? s.gateway.sites : s.population.num_devices;
  FederationOptions o = MakeFederationOptions(s, devices);
  o.min_devices = devices;
  o.limits.expected_elements = num_elements;
  return o;
}

// A durable run's directory, opened: the coordinator's store prepared for
// this scenario (PrepareRun, as fedge-coordinator) and the simulator's files.
struct DurableState {
  std::unique_ptr<SqliteStateStore> store;
  SimState files;
  bool resuming = false;  // the store holds this run and --resume was given
};

absl::StatusOr<DurableState> OpenDurableState(const Scenario& scenario, const DurableOptions& durable) {
  FEDGE_RETURN_IF_ERROR(CheckResumable(scenario));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStateStore> store, SqliteStateStore::Open({.dir = durable.dir}));
  FEDGE_ASSIGN_OR_RETURN(SimState files, SimState::Open(durable.dir));
  FEDGE_ASSIGN_OR_RETURN(std::optional<RunConfig> stored, store->ReadRunConfig());
  if (stored && !durable.resume && !durable.new_run) {
    FEDGE_ASSIGN_OR_RETURN(SimState::Progress done, files.LoadProgress());
    return absl::FailedPreconditionError(absl::StrCat(
        "the state directory ", durable.dir, " holds a run (", done.rows.size(),
        " rounds done): add --resume to continue it, or --new-run to discard it and start over"));
  }
  const bool resuming = stored.has_value() && !durable.new_run;
  if (!resuming) FEDGE_RETURN_IF_ERROR(files.Clear());
  // The coordinator's check: settings that change the run are refused, naming each key.
  FEDGE_RETURN_IF_ERROR(PrepareRun(*store, SimulationRunConfig(scenario), durable.new_run, store->db_path()));
  return DurableState{std::move(store), std::move(files), resuming};
}

}  // namespace

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulator::~Simulator() = default;

absl::StatusOr<SimulationData> LoadSimulationData(const Scenario& scenario) {
  SimulationData data;
  FEDGE_ASSIGN_OR_RETURN(data.train, LoadFashionMnist(scenario.data.dir, "train"));
  if (scenario.federation.evaluate_every > 0 || scenario.deploy.enabled()) {
    FEDGE_ASSIGN_OR_RETURN(data.test, LoadFashionMnist(scenario.data.dir, "test"));
  }
  return data;
}

absl::StatusOr<TransportKind> ParseTransportKind(std::string_view name) {
  if (name == "inprocess") return TransportKind::kInProcess;
  if (name == "grpc") return TransportKind::kGrpc;
  return absl::InvalidArgumentError(absl::StrCat("unknown transport '", AsAbsl(name), "'; use inprocess or grpc"));
}

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Create(const Scenario& scenario, SimulationData data,
                                                             TransportKind transport, const DurableOptions& durable) {
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential model,
                         CreateModel(scenario.model.name, SeedFor(scenario, SeedStream::kModel)));
  ModelParams initial = ToParams(*model);
  std::optional<DurableState> state;
  std::optional<SigningKey> run_key;
  if (!durable.dir.empty()) {
    FEDGE_ASSIGN_OR_RETURN(state, OpenDurableState(scenario, durable));
    FEDGE_ASSIGN_OR_RETURN(run_key, state->files.LoadOrCreateSigningKey());
  } else {
    FEDGE_ASSIGN_OR_RETURN(run_key, SigningKey::Generate());
  }
  SigningKey key = *std::move(run_key);
  auto impl = std::make_unique<Impl>(scenario, std::move(data), key.verify_key());
  impl->start = impl->clock.Now();  // the FakeClock's fixed epoch: a resumed run has the same
  impl->fault_point = durable.fault_point;
  uint64_t recovered_round = 0;
  if (state) {
    impl->store = std::move(state->store);
    impl->sim_state = std::move(state->files);
    if (state->resuming) {
      FEDGE_ASSIGN_OR_RETURN(recovered_round, impl->Reconcile(durable.dir));
    }
  }

  // What the population keeps for every device, measured in two parts
  // around the Federation's fixed setup: the simulator's records here, the
  // coordinator's registry at registration.
  int64_t heap_mark = HeapBytesInUse();
  FEDGE_ASSIGN_OR_RETURN(impl->setup, BuildPopulation(scenario, impl->data.train));
  const std::vector<DeviceProfile>& population = impl->setup.population;
  for (size_t i = 0; i < population.size(); ++i) impl->index_of[population[i].id] = i;
  if (scenario.devices.diurnal_period_s > 0 && scenario.devices.diurnal_on_fraction < 1) {
    for (const DeviceProfile& p : population) {
      impl->windows.push_back(DiurnalWindow::ForDevice(scenario.devices.diurnal_period_s,
                                                       scenario.devices.diurnal_on_fraction, scenario.seed, p.id));
    }
  }
  impl->training.assign(population.size(), false);
  impl->idle_at_version.assign(population.size(), 0);
  impl->population_bytes.simulator = HeapBytesInUse() - heap_mark;

  if (scenario.federation.evaluate_every > 0) {
    // A fixed thread count keeps the test loss bit-identical across worker
    // counts; one replica per worker keeps them all busy while it evaluates
    // (the replicas' result is one model's, bit for bit).
    FEDGE_ASSIGN_OR_RETURN(impl->evaluator,
                           TorchEvaluator::Create(scenario.model.name, impl->data.test, kDefaultEvalBatchSize,
                                                  scenario.run.torch_threads, scenario.run.workers));
  }
  const int64_t num_elements = initial.layout.num_elements();
  impl->num_elements = num_elements;
  heap_mark = HeapBytesInUse();
  std::vector<std::string> ids;
  for (const DeviceProfile& p : population) ids.push_back(p.id);
  FEDGE_ASSIGN_OR_RETURN(impl->privacy, PrivacyRuntime::Create(scenario, std::move(ids),
                                                               impl->sim_state ? impl->sim_state->LedgerDir() : ""));
  impl->population_bytes.simulator += HeapBytesInUse() - heap_mark;
  FederationOptions federation_options = ToFederationOptions(scenario, num_elements);
  // The simulator re-runs an interrupted round from its start (its devices
  // were put back by Reconcile), so the Federation must not count the
  // updates acknowledged before the interruption.
  federation_options.store = impl->store.get();
  federation_options.restart_open_round = true;
  federation_options.fault_point = durable.fault_point;
  impl->privacy->Configure(federation_options);
  // Secure aggregation's neighbour graphs come from the coordinator's
  // randomness: seeded here, so which rounds survive dropouts is reproducible.
  if (federation_options.dp_random == nullptr) federation_options.dp_random = &impl->secagg_graph_random;
  if (scenario.deploy.enabled()) {
    FEDGE_ASSIGN_OR_RETURN(impl->deploy, DeploySimulation::Create(scenario, impl->data.train, impl->data.test, key));
    impl->deploy->Configure(federation_options);
  }
  std::unique_ptr<Strategy> strategy = scenario.strategy.create();
  FEDGE_ASSIGN_OR_RETURN(impl->federation,
                         Federation::Create(std::move(federation_options), std::move(strategy),
                                            std::move(initial), std::move(key), &impl->clock, impl->evaluator.get()));
  FEDGE_ASSIGN_OR_RETURN(CodecSpec codec, ParseCodecSpec(scenario.training.codec));
  if (codec.uses_error_feedback() && impl->sim_state) {
    impl->state_root = impl->sim_state->DevicesDir();
    FEDGE_ASSIGN_OR_RETURN(impl->state_key, impl->sim_state->LoadOrCreateSealingKey());
  } else if (codec.uses_error_feedback()) {
    std::string dir = (std::filesystem::temp_directory_path() / "fedge-sim-state-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) return absl::UnavailableError("cannot create a temporary state directory");
    impl->state_root = dir;
    impl->owns_state_root = true;
    FEDGE_ASSIGN_OR_RETURN(SealingKey state_key, SealingKey::Generate());
    impl->state_key = std::move(state_key);
  }
  impl->coordinator = impl->federation.get();
  if (transport == TransportKind::kGrpc) {
    FEDGE_ASSIGN_OR_RETURN(impl->loopback, GrpcLoopback::Start(impl->federation.get()));
    impl->coordinator = impl->loopback->transport();
  }
  // A resumed run has its registry back from the store.
  const bool registered = impl->federation->GetStatus().registered_devices() >= population.size();
  heap_mark = HeapBytesInUse();
  if (scenario.two_tier()) FEDGE_RETURN_IF_ERROR(impl->SetUpGateways());
  for (size_t i = 0; !registered && !scenario.two_tier() && i < population.size(); ++i) {
    proto::RegisterRequest request;
    request.mutable_device()->set_device_id(population[i].id);
    request.mutable_device()->set_num_examples(impl->ShardSize(i));
    FEDGE_RETURN_IF_ERROR(impl->coordinator->Register(request).status());
  }
  impl->population_bytes.registry = HeapBytesInUse() - heap_mark;
  if (transport == TransportKind::kGrpc && HeapUsageScope() == HeapScope::kThread) {
    // gRPC's threads registered the devices, and only this thread's heap is
    // seen (heap_usage.h): report nothing rather than a registry of 0 B.
    impl->population_bytes = {};
  }
  if (scenario.drift.enabled()) {
    FEDGE_ASSIGN_OR_RETURN(impl->drift, DriftSimulation::Create(scenario, impl->data.train, impl->data.test,
                                                                population, impl->coordinator, &impl->clock));
  }
  impl->federation->Tick();  // opens round 1 (resumed: completes a pending round, opens the next)
  if (recovered_round > 0) FEDGE_RETURN_IF_ERROR(impl->RecoverRow(recovered_round, impl->recovered_accepted));
  impl->resumed_rows = impl->rows;
  impl->any_round_succeeded = std::any_of(impl->rows.begin(), impl->rows.end(),
                                          [](const RoundRow& r) { return r.succeeded; });
  return std::unique_ptr<Simulator>(new Simulator(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<TorchTrainer>> Simulator::Impl::MakeTrainer(const DeviceProfile& profile,
                                                                          const TorchTrainerOptions& options) const {
  const size_t index = index_of.at(profile.id);
  if (drift != nullptr && setup.sample == nullptr) {
    // The device's current data window, drifted as it arrived.
    ImageDataset current = drift->TrainingSet(index, round_in_progress, profile.seed);
    std::vector<int64_t> all(current.num_examples);
    std::iota(all.begin(), all.end(), 0);
    // Label flipping poisons the data the device is given, not its update.
    if (setup.malicious[index] && !IsUpdateAttack(scenario.attack)) current = FlippedLabelShard(current, all);
    return TorchTrainer::Create(options, current, all);
  }
  return MakeDeviceTrainer(scenario, data.train, setup, index, profile, options);
}

void Simulator::Impl::PrepareDevice(const DeviceProfile& profile, const RoundFate& fate, absl::Time opened,
                                    absl::Time deadline, DeviceRun& run, Transport* server) {
  run.id = profile.id;
  // A fresh noise stream per device and round (keyed by the round's opening).
  const uint64_t noise_round = static_cast<uint64_t>(absl::ToUnixMicros(opened));
  absl::StatusOr<DevicePrivacy> privacy_state = privacy->Materialise(profile.id, profile.seed, noise_round);
  if (!privacy_state.ok()) {
    run.status = privacy_state.status();
    return;
  }
  run.privacy = *std::move(privacy_state);
  const TorchTrainerOptions trainer_options = DeviceTrainerOptions(scenario, run.privacy->noise.get());
  const bool is_malicious = setup.malicious[index_of.at(profile.id)];
  absl::StatusOr<std::unique_ptr<TorchTrainer>> trainer = MakeTrainer(profile, trainer_options);
  if (!trainer.ok()) {
    run.status = trainer.status();
    return;
  }
  run.trainer = *std::move(trainer);
  Trainer* honest_or_not = run.trainer.get();
  if (run.owner != 0) {  // trained by another rank, bit for bit as here
    run.remote = remote->Wrap(run.trainer.get(), run.owner, index_of.at(profile.id),
                              DeviceNoiseSeed(profile.seed, noise_round));
    honest_or_not = run.remote.get();
  }
  if (is_malicious && IsUpdateAttack(scenario.attack)) {
    honest_or_not = &run.attacking.emplace(run.trainer.get(), scenario.attack);
  }
  run.clock = std::make_unique<FakeClock>(opened);
  run.link = std::make_unique<SimLink>(server != nullptr ? server : coordinator, &clock, run.clock.get(), profile,
                                       deadline);
  run.sim_trainer = std::make_unique<SimTrainer>(honest_or_not, run.clock.get(), profile.compute_speed,
                                                 fate.drops_out, deadline);
  DeviceOptions options;
  options.device_id = profile.id;
  options.num_examples = profile.examples.size();
  options.seed = profile.seed;
  if (!state_root.empty()) {
    options.state_dir = absl::StrCat(state_root, "/", profile.id);
    options.state_key = state_key;
  }
  options.privacy_ledger = run.privacy->ledger.get();
  options.secagg_noise = run.privacy->noise.get();
  if (deploy != nullptr) {
    options.inference_slot = deploy->SlotFor(profile.id);
    deploy->ConfigureDevice(options);
  }
  run.device = std::make_unique<Device>(std::move(options), run.link.get(), run.clock.get(), run.sim_trainer.get(),
                                        verify_key);
  absl::StatusOr<StepResult> step = run.device->PrepareStep();
  if (!step.ok()) {
    run.status = step.status();
    return;
  }
  run.prepared = true;
  run.step = *std::move(step);
  if (run.step.pending_upload_bytes > 0) {
    run.arrival =
        run.link->ArrivalIfSentNow(run.step.pending_upload_bytes, run.device->options().upload_chunk_bytes);
  }
  Classify(run);
  // FinishStep does not train: the cohort's training memory is freed here,
  // on the thread that used it, not held until the last upload (keeping it
  // cost the loopback workload 6 s of 42, bench/sim_bench.sh).
  run.attacking.reset();
  run.remote.reset();
  run.trainer.reset();
}

void Simulator::Impl::FinishDevice(DeviceRun& run) {
  if (run.finished) return;
  if (run.prepared) {
    run.step = run.device->FinishStep(std::move(run.step));
    Classify(run);
  }
  if (run.privacy) privacy->Release(*run.privacy);
}

void Simulator::Impl::Classify(DeviceRun& run) const {
  run.status = !run.step.had_task ? absl::InternalError("the coordinator offered no task to a sampled device")
                                  : run.step.task_status;
  // A device whose privacy budget is spent refuses its task: expected, like a dropout.
  run.simulated_failure = run.sim_trainer->simulated_failure() || run.link->refused_late() ||
                          (privacy->device_dp() && absl::IsResourceExhausted(run.status)) ||
                          // secure aggregation: its link was cut, or the round went on (or failed) without it
                          run.link->cut() || (run.step.secure_aggregation && absl::IsFailedPrecondition(run.status));
}

absl::StatusOr<RoundRow> Simulator::RunRound() {
  Impl& s = *impl_;
  if (s.federation->finished()) return absl::FailedPreconditionError("every round of the scenario has run");
  if (s.scenario.async_mode()) return s.RunAsyncStep();
  if (s.scenario.two_tier()) return s.RunTwoTierRound();
  const absl::Time wall_start = Clock::Real()->Now();
  const absl::Time opened = s.clock.Now();
  const absl::Time deadline = opened + absl::Seconds(s.scenario.federation.round_deadline_s);
  const uint64_t round = s.federation->GetStatus().current_round();
  if (s.drift != nullptr) {
    // Every device sees this round's data with the deployed model first; its
    // alarms reach the coordinator during the round.
    s.round_in_progress = static_cast<int64_t>(round);
    FEDGE_RETURN_IF_ERROR(s.drift->ObserveRound(static_cast<int64_t>(round), s.federation->global_model()));
  }

  std::vector<std::string> selected = s.federation->selected_devices();
  std::sort(selected.begin(), selected.end());
  // Before anything of the cohort changes: an interruption re-runs the
  // round from its start, with these devices put back.
  if (s.sim_state) FEDGE_RETURN_IF_ERROR(s.sim_state->BeginRound(static_cast<int64_t>(round), selected));
  s.Fault("round-start");
  // Phase 1, in parallel: every device trains and encodes its update.
  // `cohort` outlives both phases: the devices' links borrow their profiles.
  std::vector<std::unique_ptr<DeviceRun>> runs;
  std::vector<DeviceProfile> cohort(selected.size());
  std::vector<std::pair<const DeviceProfile*, RoundFate>> training;
  for (size_t i = 0; i < selected.size(); ++i) {
    const DeviceProfile& profile = cohort[i] = s.Materialise(s.index_of.at(selected[i]));
    const RoundFate fate = DrawFate(s.scenario, round, profile.id);
    if (!fate.online || profile.examples.empty()) continue;  // never takes its task
    if (!s.OnlineAt(s.index_of.at(selected[i]), opened)) continue;  // outside its diurnal window
    training.emplace_back(&profile, fate);
  }
  for (size_t k = 0; k < training.size(); ++k) {
    const DeviceProfile* profile = training[k].first;
    const RoundFate fate = training[k].second;
    DeviceRun* run = runs.emplace_back(std::make_unique<DeviceRun>()).get();
    // With --mpi, another rank may train it; this process still runs the device.
    run->owner = s.remote != nullptr ? s.remote->OwnerOf(k, training.size()) : 0;
    ThreadPool& pool = run->owner == 0 ? s.pool : *s.remote_pool;
    pool.Schedule([&s, profile, fate, opened, deadline, run] { s.PrepareDevice(*profile, fate, opened, deadline, *run); });
  }
  s.pool.Wait();
  if (s.remote_pool != nullptr) s.remote_pool->Wait();
  if (s.remote != nullptr) FEDGE_RETURN_IF_ERROR(s.remote->status());
  if (!s.windows.empty()) {
    for (const std::unique_ptr<DeviceRun>& run : runs) s.HoldForAvailability(s.index_of.at(run->id), opened, *run);
  }
  std::vector<proto::RoundRecord> closed_early;
  if (s.scenario.secagg.enabled) closed_early = s.RunSecAggStages(runs, round);

  // Phase 2, one at a time in simulated arrival order (so the aggregate is
  // reproducible): each device uploads and learns the coordinator's verdict.
  std::vector<DeviceRun*> arriving;
  absl::Status unexpected;
  for (const std::unique_ptr<DeviceRun>& run : runs) {
    if (run->arrival && *run->arrival <= deadline) arriving.push_back(run.get());
    if (!run->status.ok() && !run->simulated_failure && !absl::IsDeadlineExceeded(run->status) && unexpected.ok()) {
      unexpected = absl::Status(run->status.code(), absl::StrCat(run->id, ": ", run->status.message()));
    }
  }
  if (arriving.empty() && !unexpected.ok() && !s.any_round_succeeded) {
    return absl::InternalError(
        absl::StrCat("round ", round, ": no device could deliver an update; first error: ", unexpected.ToString()));
  }
  std::sort(arriving.begin(), arriving.end(), [](const DeviceRun* a, const DeviceRun* b) {
    return std::tie(*a->arrival, a->id) < std::tie(*b->arrival, b->id);
  });
  if (s.sim_state) {
    // Where the clock will stand at the round's end, kept in case the
    // coordinator closes the round and the process dies before the end is
    // saved with the row.
    FEDGE_RETURN_IF_ERROR(s.sim_state->SaveRoundEnd(
        {.last_arrival = arriving.empty() ? opened : *arriving.back()->arrival,
         .deadline = deadline,
         .target = s.federation->round_target()}));
  }
  int64_t malicious_accepted = 0;
  for (DeviceRun* run : arriving) {
    s.FinishDevice(*run);
    // A refusal (late after the target was reached, invalid) is the
    // coordinator's answer, counted in its round record; the device has
    // given the update's mass back to its residual.
    if (!run->status.ok()) continue;
    s.Fault("delivered");
    if (s.setup.malicious[s.index_of.at(run->id)]) ++malicious_accepted;
  }
  // The rest upload nothing (late ones are refused by their link) but
  // settle and report like any device.
  for (const std::unique_ptr<DeviceRun>& run : runs) {
    if (!run->arrival || *run->arrival > deadline) s.FinishDevice(*run);
  }
  std::vector<proto::RoundRecord> records = closed_early.empty() ? s.federation->Tick() : closed_early;
  if (records.empty()) {  // the target was not reached: the round runs to its deadline
    s.clock.SetTime(std::max(s.clock.Now(), deadline));
    records = s.federation->Tick();
  }
  if (records.size() != 1) {
    return absl::InternalError(absl::StrCat("round ", round, ": expected one closed round, got ", records.size()));
  }
  s.Fault("round-closed");
  FEDGE_ASSIGN_OR_RETURN(RoundRow row, s.MakeRow(records[0], malicious_accepted));
  row.wall_time_s = absl::ToDoubleSeconds(Clock::Real()->Now() - wall_start);
  if (s.sim_state) {
    // The round's end for the simulator: its row is saved, the undo log goes.
    s.rows.push_back(row);
    FEDGE_RETURN_IF_ERROR(s.sim_state->SaveProgress({s.rows, s.clock.Now()}));
    FEDGE_RETURN_IF_ERROR(s.sim_state->EndRound());
  }
  return row;
}

absl::StatusOr<RoundRow> Simulator::Impl::MakeRow(const proto::RoundRecord& r, int64_t malicious_accepted) {
  RoundRow row;
  row.round = static_cast<int64_t>(r.round());
  row.succeeded = r.succeeded();
  any_round_succeeded = any_round_succeeded || r.succeeded();
  row.test_accuracy = RoundMetric(r, "test_accuracy", NAN);
  row.test_loss = RoundMetric(r, "test_loss", NAN);
  row.participants = r.accepted();
  row.selected = r.selected();
  row.rejected = r.rejected();
  row.malicious = malicious_accepted;
  row.dropped = row.selected - row.participants - row.rejected;
  row.bytes_up = r.bytes_up();
  row.bytes_down = r.bytes_down();
  if (row.bytes_up > 0) {
    row.compression_ratio = static_cast<double>(row.participants + row.rejected) * 4.0 *
                            static_cast<double>(num_elements) / static_cast<double>(row.bytes_up);
  }
  privacy->FillRow(r, row);
  if (drift != nullptr) FEDGE_RETURN_IF_ERROR(drift->FillRow(r, federation->global_model(), row));
  if (deploy != nullptr) DeploySimulation::FillRow(r, row);
  row.secagg_bytes_up_per_device = RoundMetric(r, "secagg_bytes_in_per_client", NAN);
  row.secagg_bytes_down_per_device = RoundMetric(r, "secagg_bytes_out_per_client", NAN);
  row.secagg_stage_seconds = NAN;
  for (int stage = 0; stage < 4; ++stage) {
    const double t = RoundMetric(r, absl::StrCat("secagg_stage", stage, "_seconds"), NAN);
    if (std::isfinite(t)) row.secagg_stage_seconds = (std::isfinite(row.secagg_stage_seconds) ? row.secagg_stage_seconds : 0) + t;
  }
  row.sim_time_s = absl::ToDoubleSeconds(absl::FromUnixMicros(r.closed_unix_micros()) - start);
  return row;
}

absl::StatusOr<uint64_t> Simulator::Impl::Reconcile(const std::string& dir) {
  // Reconcile the two halves. The coordinator's store is the commit point
  // of a round: it either has not closed the round the simulator was
  // running (re-run it: every device of its cohort is put back), or closed
  // it before the simulator saved its row (keep it: the devices whose update
  // it acknowledged keep their new residuals, the others are put back; all
  // ledgers stay, every device of the cohort has trained).
  FEDGE_ASSIGN_OR_RETURN(SimState::Progress progress, sim_state->LoadProgress());
  rows = std::move(progress.rows);
  FEDGE_ASSIGN_OR_RETURN(StoredState state, store->Load());
  const uint64_t done = rows.size();
  const uint64_t closed = state.completed.size() + state.pending.size();
  FEDGE_ASSIGN_OR_RETURN(const int64_t undo_round, sim_state->UndoRound());
  if (closed != done && closed != done + 1) {
    return absl::DataLossError(absl::StrCat("the state directory ", dir, " is inconsistent: its coordinator closed ",
                                            closed, " rounds, its simulator recorded ", done,
                                            "; start over with --new-run"));
  }
  absl::flat_hash_set<std::string> keep;
  if (closed == done + 1) {
    if (undo_round != static_cast<int64_t>(closed)) {
      return absl::DataLossError(absl::StrCat("the state directory ", dir, " has no undo log for round ", closed,
                                              "; start over with --new-run"));
    }
    for (const AckedUpdate& u : state.last_closed_updates) {
      if (u.round != closed) continue;
      keep.insert(u.device_id);
      recovered_accepted.push_back(u.device_id);
    }
  }
  if (undo_round == static_cast<int64_t>(done + 1)) FEDGE_RETURN_IF_ERROR(sim_state->Undo(keep, closed == done + 1));
  // The simulated time where the run stood, exactly (DP noise and every
  // arrival derive from it; the store has microseconds): the end of the
  // last round the simulator saved or, when the coordinator closed one
  // more, that round's end as saved before its uploads were delivered.
  if (closed == done + 1) {
    FEDGE_ASSIGN_OR_RETURN(std::optional<SimState::RoundEnd> end, sim_state->LoadRoundEnd());
    if (!end) {
      return absl::DataLossError(absl::StrCat("the state directory ", dir, " does not say where round ", closed,
                                              " ended; start over with --new-run"));
    }
    const proto::RoundRecord& last = state.pending.empty() ? state.completed.back() : state.pending.back().record;
    clock.SetTime(static_cast<int64_t>(last.accepted()) >= end->target ? end->last_arrival : end->deadline);
  } else if (done > 0) {
    clock.SetTime(progress.clock);
  }
  if (state.open && absl::ToUnixMicros(clock.Now()) != state.open->opened_unix_micros) {
    return absl::DataLossError(absl::StrCat("the state directory ", dir, " is inconsistent: round ", state.open->round,
                                            " opened at another time than the simulator's clock; start over with "
                                            "--new-run"));
  }
  return closed == done + 1 ? closed : 0;
}

absl::Status Simulator::Impl::RecoverRow(uint64_t round, const std::vector<std::string>& accepted) {
  const std::vector<proto::RoundRecord> records = federation->rounds();
  auto it = std::find_if(records.begin(), records.end(),
                         [&](const proto::RoundRecord& r) { return r.round() == round; });
  if (it == records.end()) return absl::DataLossError(absl::StrCat("round ", round, " has no stored record"));
  int64_t malicious_accepted = 0;
  for (const std::string& id : accepted) malicious_accepted += setup.malicious[index_of.at(id)];
  FEDGE_ASSIGN_OR_RETURN(RoundRow row, MakeRow(*it, malicious_accepted));
  row.wall_time_s = 0;  // spent by the interrupted process: not known
  rows.push_back(row);
  FEDGE_RETURN_IF_ERROR(sim_state->SaveProgress({rows, clock.Now()}));
  return sim_state->EndRound();
}

const std::vector<RoundRow>& Simulator::resumed_rows() const { return impl_->resumed_rows; }

absl::Status Simulator::WriteModel(const std::string& path) const {
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body,
                         OpenArtifact(impl_->federation->signed_model(), impl_->verify_key));
  // The header's metrics include the devices' wall-clock training time;
  // the evaluation is in rounds.csv and summary.json.
  body.mutable_header()->clear_metrics();
  // Deterministic serialisation: the same model gives the same bytes.
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!body.SerializeToCodedStream(&coded)) return absl::InternalError("cannot serialise the global model");
  }
  return WriteFileAtomically(path, bytes);
}

DeviceProfile Simulator::Impl::Materialise(size_t index) const { return setup.Materialise(index); }

bool Simulator::finished() const { return impl_->federation->finished(); }

PopulationBytes Simulator::population_bytes() const { return impl_->population_bytes; }

absl::Status Simulator::TrainOn(RemoteTraining* remote) {
  impl_->remote = nullptr;
  impl_->remote_pool.reset();
  if (remote == nullptr) return absl::OkStatus();
  FEDGE_RETURN_IF_ERROR(remote->Start(impl_->scenario, ScenarioFingerprint(impl_->scenario, impl_->data.train)));
  impl_->remote = remote;
  if (remote->ranks() <= 1) return absl::OkStatus();
  // Enough waiting threads to keep every other rank's workers busy, twice
  // over so the next request is there when one finishes.
  impl_->remote_pool = std::make_unique<ThreadPool>(2 * impl_->scenario.run.workers * (remote->ranks() - 1));
  return absl::OkStatus();
}

int64_t Simulator::empty_devices() const {
  if (impl_->setup.sample) return 0;  // every sampled shard holds at least sample_min >= 1 examples
  return std::count_if(impl_->setup.population.begin(), impl_->setup.population.end(),
                       [](const DeviceProfile& p) { return p.examples.empty(); });
}

std::string ReportDir(const Scenario& scenario) { return absl::StrCat(scenario.run.out_dir, "/", scenario.name); }

absl::StatusOr<RunReport> RunScenario(const Scenario& scenario, const RunOptions& options) {
  const absl::Time wall_start = Clock::Real()->Now();
  FEDGE_ASSIGN_OR_RETURN(SimulationData data, LoadSimulationData(scenario));
  const DurableOptions durable{.dir = options.state_dir.empty() ? scenario.run.state_dir : options.state_dir,
                               .resume = options.resume,
                               .new_run = options.new_run,
                               .fault_point = options.fault_point};
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Simulator> sim,
                         Simulator::Create(scenario, std::move(data), options.transport, durable));
  FEDGE_RETURN_IF_ERROR(sim->TrainOn(options.remote));
  RunTimings timings{.setup_s = absl::ToDoubleSeconds(Clock::Real()->Now() - wall_start),
                     .population = sim->population_bytes()};
  if (options.out != nullptr && sim->empty_devices() > 0) {
    std::fprintf(options.out, "note: %lld of %lld devices received no examples and never train\n",
                 static_cast<long long>(sim->empty_devices()), static_cast<long long>(scenario.population.num_devices));
  }
  const std::string dir = options.report_dir.empty() ? ReportDir(scenario) : options.report_dir;
  RunReport report(scenario);
  for (const RoundRow& row : sim->resumed_rows()) report.AddRound(row);
  if (options.out != nullptr && !sim->resumed_rows().empty()) {
    std::fprintf(options.out, "resuming after round %lld\n", static_cast<long long>(sim->resumed_rows().back().round));
  }
  std::optional<ProgressBar> progress;
  if (options.out != nullptr) progress.emplace(scenario.federation.rounds, options.out, options.tty);
  std::string status;
  while (!sim->finished()) {
    FEDGE_ASSIGN_OR_RETURN(RoundRow row, sim->RunRound());
    report.AddRound(row);
    FEDGE_RETURN_IF_ERROR(report.WriteCsv(dir));
    if (std::isfinite(row.test_accuracy)) status = absl::StrFormat("acc %.2f%%", 100 * row.test_accuracy);
    if (progress) progress->Update(row.round, status);
  }
  if (progress) progress->Finish();
  timings.total_s = absl::ToDoubleSeconds(Clock::Real()->Now() - wall_start);
  FEDGE_RETURN_IF_ERROR(report.WriteAll(dir, timings));
  FEDGE_RETURN_IF_ERROR(sim->WriteModel(absl::StrCat(dir, "/final_model.pb")));
  if (options.out != nullptr) std::fputs(report.TerminalSummary(timings, dir).c_str(), options.out);
  return report;
}

}  // namespace fedge
