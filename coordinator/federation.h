// File: coordinator/federation.h
//
// `Federation` is the coordinator's round state machine, independent of any
// transport. It implements `Transport` (core/transport.h), so the gRPC
// service adapter forwards each RPC to it and a simulated device calls it
// in-process: the round logic exists once.
//
// A round, driven by an injected `Clock`:
//   1. `Tick()` opens a round once at least `min_devices` devices are
//      registered: it samples `ceil(target * over_selection)` of the eligible
//      devices with a generator seeded from the options (reproducible), so
//      stragglers do not stall the round.
//   2. A selected device receives its `Task` on its next `PollTask`,
//      downloads the signed global model in chunks (`Download`) and uploads
//      its encoded delta in chunks (`Upload`, resumable at the acknowledged
//      offset).
//   3. The final chunk is validated once — task and round, layout id,
//      element count, codec payload, finite values, norm bound, example
//      count — and folded straight into the round's streaming aggregator,
//      so memory stays O(model size) however many devices report. A
//      rejected or late update never touches the aggregate; resubmitting an
//      accepted update is acknowledged again and not counted twice.
//   4. The round closes when `target` updates are accepted, or at the
//      deadline. With at least `min_quorum` updates the strategy takes a
//      server step and a new signed global version is published; otherwise
//      the round fails cleanly and the global model is unchanged.
//   5. The next `Tick()` opens the next round first, so devices train while
//      it evaluates the new model (if an evaluator is set) outside the lock
//      and then completes the closed round's `RoundRecord`. A round that
//      closes meanwhile waits for the following `Tick()`; records complete
//      in round order. When the closed round's model is also deployed
//      (below), the next round opens after the deployment, so its tasks
//      come with the new INT8 model advertised.
//
// Deployment: every `deploy_every` rounds, that same `Tick()` also hands the
// new global model to the `ModelDeployer` (outside the lock), which distils
// and quantises it into a signed INT8 artifact. The Federation verifies the
// artifact like a device would and publishes it; every PollTask response
// then advertises its version, and devices fetch it with a Download of kind
// ARTIFACT_DEPLOYED_MODEL. A failed deployment is logged and leaves the
// previous deployed model in service. With options.rollout enabled, a
// deployment is instead rolled out in stages (coordinator/rollout.h,
// federation_rollout.cc): each PollTask advertises the version its device's
// stage should serve, Tick() applies the rollout's rules, and a deployment
// made while a rollout runs waits for it to end.
//
// Asynchronous mode (options.async.enabled; federation_async.cc, FedBuff):
// there are no rounds and no sampling. Any eligible device that polls gets a
// task on the current global version (at most async.max_concurrent in
// training); its update is folded, weighted by (1 + s)^-a for staleness s
// (server steps since its task was issued), into a buffer, and every
// async.buffer_size accepted updates the strategy takes a server step and a
// new signed version is published, recorded as one RoundRecord. An update
// more than async.staleness.max_staleness steps stale is refused with
// kFailedPrecondition naming its staleness and the bound. A device
// contributes at most one update to each server step. Everything else —
// validation, idempotent uploads, durability, evaluation, deployment — is
// the synchronous path's.
//
// Thread-safety: all methods are safe to call concurrently; one mutex
// guards the round state. Evaluation runs outside it.
#ifndef FEDGE_COORDINATOR_FEDERATION_H_
#define FEDGE_COORDINATOR_FEDERATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "aggregation/staleness.h"
#include "aggregation/strategy.h"
#include "aggregation/update_checks.h"
#include "coordinator/rollout.h"
#include "coordinator/secagg_round.h"
#include "coordinator/store/state_store.h"
#include "core/deployer.h"
#include "core/env.h"
#include "core/evaluator.h"
#include "core/params.h"
#include "core/random.h"
#include "core/signing.h"
#include "core/transport.h"
#include "privacy/client_dp.h"
#include "proto/fedge.pb.h"

namespace fedge {

// Asynchronous buffered aggregation ([federation] mode = "async", [async]).
struct AsyncOptions {
  bool enabled = false;
  // K: accepted updates per server step.
  int64_t buffer_size = 10;
  // The staleness weight's exponent and the largest staleness accepted.
  StalenessOptions staleness = {};
  // Tasks in training at once; 0: no limit.
  int64_t max_concurrent = 100;
};

struct FederationOptions {
  // --- Behaviour ---------------------------------------------------------
  // Names the model family in artifacts and tasks.
  std::string model_id = "fedge";
  // Zoo architecture of the global model, sent in every task.
  std::string architecture = "cnn_small";
  // Rounds to run; 0 runs until the process stops.
  int64_t max_rounds = 0;
  // A round opens only once this many devices are registered.
  int64_t min_devices = 1;
  // Accepted updates that close a round early. When `fraction` > 0 the
  // target is instead ceil(fraction * eligible devices), at least 1.
  int64_t devices_per_round = 10;
  double fraction = 0;
  // Devices selected = ceil(target * over_selection), capped by the
  // eligible population.
  double over_selection = 1.3;
  // Fewest accepted updates for a round to succeed at its deadline.
  int64_t min_quorum = 1;
  // Time from opening a round to closing it whatever has arrived.
  absl::Duration round_deadline = absl::Minutes(10);
  // How long devices without a task wait before polling again.
  absl::Duration poll_interval = absl::Seconds(1);
  // Evaluate the global model after every `evaluate_every` rounds; 0 never.
  int64_t evaluate_every = 1;
  // Seeds device selection.
  uint64_t seed = 1;
  // The training configuration every task carries (the strategy may add to
  // it, e.g. FedProx's proximal term).
  proto::TrainConfig train;
  // Boundary checks applied to every update.
  UpdateLimits limits;
  // Drift response. With `favour_drifting`, devices that reported a drift
  // alarm since their last accepted update are sampled before the others.
  bool favour_drifting = false;
  // When > 0: once at least this fraction of registered devices is drifting
  // at the end of a round, one extra round is granted beyond `max_rounds`
  // (at most `max_extra_rounds` in all), so the model can adapt.
  double extra_round_drift_fraction = 0;
  int64_t max_extra_rounds = 0;
  // Client-level DP (DP-FedAvg): when set, updates are clipped and summed
  // unweighted, Gaussian noise is added to the sum and it is divided by the
  // round's target; the round records then carry "client_epsilon" at
  // `client_dp_delta`. `device_sampling_rate` must be set for accounting.
  std::optional<ClientDpOptions> client_dp;
  double client_dp_delta = 1e-5;
  // Noise source for client DP, also drawing secure aggregation's graph
  // seeds; null uses SecureRandom::Default(). Borrowed.
  SecureRandom* dp_random = nullptr;
  // Secure aggregation ([secagg], coordinator/secagg_round.h): when enabled,
  // a round's devices send masked int8 codes (int4 when train.codec is
  // "int4": SecAggCodeBits, settings/secagg_settings.h) on a shared scale
  // through the SecAgg RPC instead of uploading their updates, and the
  // round's aggregate is the unweighted mean of the survivors' clipped
  // deltas. Needs a positive train.update_clip_norm (or client DP's clip
  // norm), a codec SecAggCodeBits accepts and a mean-based strategy. With client DP the noise is distributed: each
  // device adds its share, calibrated for min_quorum survivors.
  SecAggOptions secagg;
  // Deployed model: after every round whose number is a multiple of
  // `deploy_every` and that produced a new global model, `deployer` builds
  // the INT8 model devices serve; 0 never deploys. Borrowed; must outlive
  // the Federation; required when deploy_every > 0.
  int64_t deploy_every = 0;
  ModelDeployer* deployer = nullptr;
  // Staged rollout of each deployed model (coordinator/rollout.h); off by
  // default: every device is told the newest deployed model at once.
  RolloutOptions rollout;
  // TEST-ONLY ([deploy] test_degrade_from_version): deployments from this
  // version on are degraded by coordinator/degrading_deployer.h; 0 never.
  uint64_t test_degrade_from_version = 0;
  // Fleet registry: a device not heard from (registration, poll, upload or
  // report) for longer than this is shown as offline ([server]
  // device_offline_after_s).
  absl::Duration device_offline_after = absl::Minutes(10);

  // --- Durability (coordinator/store/README.md) ----------------------------
  // Where the state that must survive a crash is kept; null keeps it in
  // memory only. Borrowed; must outlive the Federation. With a store,
  // Create() resumes whatever the store holds (the caller has checked the
  // run's configuration, see run_config.h) and the final chunk of an update
  // is acknowledged only once the update is durable.
  StateStore* store = nullptr;
  // A resumed open round's deadline becomes at least now + this.
  absl::Duration resume_grace = absl::Minutes(1);
  // For a driver that re-runs an interrupted round deterministically (the
  // simulator, fedge-sim --resume): a stored open round is opened again
  // from its start — same cohort, opening time, deadline and train config,
  // no grace — and its acknowledged updates are dropped from the store, to
  // be sent again. false (the service): they are replayed and count.
  bool restart_open_round = false;
  // Fault-injection seam for crash tests (tests/e2e/durable_coordinator_test.sh
  // via fedge-coordinator's FEDGE_FAULT_INJECTION): called with the lock
  // held with "download-partial" after serving a chunk that is neither the
  // first nor the last of a download, "download-complete" before answering
  // the last chunk of a global model download, and "upload-partial" after
  // buffering a non-final upload chunk past offset 0. Null (the default) in
  // service.
  std::function<void(std::string_view event)> fault_point;

  // Asynchronous mode (see the file comment); off: synchronous rounds.
  // `max_rounds` then counts server steps.
  AsyncOptions async;

  // --- Performance -------------------------------------------------------
  // Largest model chunk returned by one Download call.
  uint32_t download_chunk_bytes = 1 << 20;
};

// Returns kInvalidArgument naming the first bad field.
absl::Status ValidateFederationOptions(const FederationOptions& options);

class Federation final : public Transport {
 public:
  // `strategy` and `signing_key` are owned. `clock` and `evaluator` are
  // borrowed and must outlive the Federation; `evaluator` may be null.
  // kInvalidArgument for bad options or an invalid initial model. With
  // `options.store` holding a run, that run is resumed (`initial_model`
  // only fixes the expected layout): same global version and strategy
  // state, rounds, devices, deployed model, and the open round rebuilt from
  // its acknowledged updates with its deadline re-armed. Errors name what
  // in the stored state cannot be resumed and what to do.
  static absl::StatusOr<std::unique_ptr<Federation>> Create(FederationOptions options,
                                                            std::unique_ptr<Strategy> strategy,
                                                            ModelParams initial_model, SigningKey signing_key,
                                                            Clock* clock, ModelEvaluator* evaluator);
  ~Federation() override;

  // --- Transport: the device-facing RPCs ---------------------------------
  // Adds or refreshes a device. kInvalidArgument for an empty device id.
  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override;
  // A task when the device is selected for the open round and has not
  // reported yet; otherwise retry_after_millis. Either way the deployed
  // model's version. kNotFound for an unregistered device.
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override;
  // A chunk of the signed global model, or of the deployed INT8 model when
  // request.artifact is ARTIFACT_DEPLOYED_MODEL. kFailedPrecondition when
  // the requested version is not the one served, kOutOfRange past the end.
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override;
  // Appends a chunk of an update; the final chunk validates and aggregates
  // it. kFailedPrecondition for a task that is not open (late, wrong round,
  // not this device's); kInvalidArgument for a malformed or out-of-bounds
  // update. A chunk at an offset other than the acknowledged one is not an
  // error: the response carries the offset to resume from. With a store, a
  // final chunk is answered accepted only after the update is durable;
  // kResourceExhausted (disk full) or kUnavailable when it could not be
  // stored: nothing was counted and the device sends the update again.
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override;
  // Upload without waiting for the store (Transport::UploadAsync): `done`
  // runs on the calling thread or, for a final chunk with a store, on the
  // store's writer thread once the update is durable, with none of the
  // Federation's locks held. An RPC server's thread returns at once and
  // serves other calls while the update's batch is written (the gRPC
  // adapter answers uploads this way). Upload is this plus a wait.
  void UploadAsync(const proto::UploadRequest& request, UploadDone done) override;
  // Records device metrics, drift alarms and spent privacy.
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override;
  // Secure aggregation's stage messages (federation_secagg.cc): kNotFound
  // for an unregistered device, kFailedPrecondition when no secure round is
  // open (or the device is out of it), otherwise SecAggRound::Handle.
  absl::StatusOr<proto::SecAggResponse> SecAgg(const proto::SecAggRequest& request) override;

  // Publishes a signed INT8 artifact for devices to serve (the deployer's
  // output, or one an operator built with fedge-distill). It must verify
  // against this coordinator's key, be of dtype INT8 for this model_id and
  // be newer than the deployed one. kPermissionDenied / kInvalidArgument /
  // kFailedPrecondition naming the check that failed; the deployed model is
  // unchanged on error.
  absl::Status PublishDeployedModel(std::string artifact);

  // --- Staged rollout (federation_rollout.cc) ------------------------------
  // The rollout's state; state ROLLOUT_NONE with a reason when it is off.
  proto::RolloutStatus GetRollout() const;
  // An operator's action (Rollout::Control), stored before it is answered.
  // kFailedPrecondition when the rollout is off or the action does not fit
  // its state.
  absl::StatusOr<proto::RolloutStatus> ControlRollout(proto::RolloutControlRequest::Action action);

  // --- Driving -----------------------------------------------------------
  // Advances time-based transitions (see the file comment). Returns the
  // records of the rounds completed by this call, in order.
  std::vector<proto::RoundRecord> Tick();
  // True once `max_rounds` rounds have completed.
  bool finished() const;

  // --- Inspection (the Admin service; federation_fleet.cc) ---------------
  // With `include_devices`, also one DeviceSummary per registered device.
  proto::StatusResponse GetStatus(bool include_devices = false) const;
  // As asked: devices, per-device maps, how many recent rounds (StatusRequest).
  proto::StatusResponse GetStatus(const proto::StatusRequest& request) const;
  // One page of the fleet registry in device id order, filtered by status.
  // kInvalidArgument for a page token no answer gave.
  absl::StatusOr<proto::ListDevicesResponse> ListDevices(const proto::ListDevicesRequest& request) const;
  // kNotFound for a device that never registered.
  absl::StatusOr<proto::DeviceSummary> GetDevice(std::string_view device_id) const;
  // The served global and deployed versions (with their artifacts' header,
  // size and SHA-256), and older versions devices still train on or serve.
  proto::ListModelsResponse ListModels() const;
  // Records the SHA-256 (hex) of the client certificate a registered device
  // presented (the gRPC adapter calls it after Register under mutual TLS).
  // kNotFound for an unregistered device.
  absl::Status NoteDeviceCertificate(std::string_view device_id, std::string sha256_hex);
  // Enrolment and revocation (coordinator/enrolment.h; federation_admission.cc):
  // gives `device_id` the registry status PENDING, ACTIVE or REVOKED,
  // creating its entry if it never registered, and stores it at once. A
  // pending or revoked device's Register, PollTask, Download, Upload and
  // Report fail with kPermissionDenied saying why, and it is never selected.
  // kInvalidArgument for another status; the store's error (nothing
  // changed) when it cannot be stored.
  absl::StatusOr<proto::DeviceSummary> SetDeviceStatus(std::string_view device_id, proto::DeviceStatus status);
  // The current global model and its version.
  ModelParams global_model() const;
  uint64_t model_version() const;
  // The signed artifact devices download for the current version.
  std::string signed_model() const;
  // The deployed INT8 artifact and its version (empty and 0 before the first).
  std::string deployed_model() const;
  uint64_t deployed_model_version() const;
  // Every completed round, oldest first.
  std::vector<proto::RoundRecord> rounds() const;
  // Devices selected for the open round (empty between rounds). A simulator
  // uses it to materialise only the sampled devices.
  std::vector<std::string> selected_devices() const;
  // Accepted updates that close the open round early (0 between rounds).
  int64_t round_target() const;

 private:
  struct Impl;
  explicit Federation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_FEDERATION_H_
