// File: client/device.h
//
// `Device` is the agent that runs on an edge device (or, in simulation, one
// virtual device): it registers with the coordinator, polls for tasks, and
// for each task downloads the signed global model, verifies it against the
// coordinator's pinned key, fine-tunes it with a `Trainer`, encodes the
// delta (local - global) and uploads it, then reports its metrics.
//
// It speaks only `Transport` (core/transport.h), so the same loop runs over
// gRPC (client/grpc_transport.h) and in-process against a `Federation`.
// The delta is encoded with the codec pipeline the task names
// (compression/encoder.h; "" means "fp32"); error-feedback codecs keep their
// residual in the Device from one task to the next.
//
// With an inference `ModelSlot` (inference/model_slot.h), the device
// also keeps the model it serves current: whenever a poll advertises a newer
// deployed INT8 model, it downloads it and installs it into the slot, which
// verifies it against the pinned key, health-checks it and keeps the
// previous model to fall back on. A model that fails is not fetched again;
// the slot keeps serving what it had. Later reports carry the served version.
//
// With an outbox (outbox_max_records, client/outbox.h) an update that
// cannot be uploaded is kept sealed in state_dir and sent before the next
// poll once the link returns; one the coordinator no longer takes gives its
// mass back to the error-feedback residual.
//
// Transfers are chunked and resumable: a transient error (IsTransient:
// kUnavailable, kDeadlineExceeded, kAborted) is retried after an
// exponential backoff with jitter, and the transfer continues from the
// offset already reached (download) or acknowledged by the coordinator
// (upload). Other errors are answers and end the task.
//
// Time comes from the injected `Clock`: backoffs call `Clock::SleepFor`, so
// a `FakeClock` makes retries instant in tests. `RunOnce()` never sleeps on
// the coordinator's "retry after" (it returns it), so a simulator can drive
// many devices on one virtual clock; `Run()` does the waiting.
//
// Usage:
//   Device device(options, transport.get(), Clock::Real(), trainer.get(), verify_key);
//   FEDGE_RETURN_IF_ERROR(device.Run({.max_tasks = 10, .max_idle_polls = 100}));
//
// Thread-safety: a Device is driven from one thread at a time;
// `counters()` may be read from any thread.
#ifndef FEDGE_CLIENT_DEVICE_H_
#define FEDGE_CLIENT_DEVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/outbox_notice.h"
#include "client/trainer.h"
#include "compression/encoder.h"
#include "core/env.h"
#include "core/random.h"
#include "core/sealing.h"
#include "core/signing.h"
#include "core/transport.h"
#include "proto/fedge.pb.h"

namespace fedge {

class ModelSlot;      // inference/model_slot.h
class ModelHandle;    // inference/model_slot.h
class Outbox;         // client/outbox.h
struct StoredOutboxRecord;
class PrivacyLedger;  // privacy/privacy_ledger.h
class SecAggExchange;  // client/secagg_exchange.h

// How one RPC is retried on transient errors.
struct RetryPolicy {
  // Delay before the first retry.
  absl::Duration initial_backoff = absl::Milliseconds(500);
  // No delay exceeds this, jitter included.
  absl::Duration max_backoff = absl::Seconds(60);
  // Each further retry waits `multiplier` times longer than the previous.
  double multiplier = 2.0;
  // Each delay is scaled by a factor drawn uniformly from
  // [1 - jitter, 1 + jitter], so devices that failed together do not retry
  // in lockstep. In [0, 1).
  double jitter = 0.2;
  // Tries of one call (the first included) before its transient error is
  // returned. A transfer counts consecutive failures of the same chunk.
  int max_attempts = 6;
};

// The delay before retry number `retry` (0 = first retry) given a uniform
// draw `u` in [0, 1): min(max_backoff, initial * multiplier^retry *
// (1 - jitter + 2 * jitter * u)).
absl::Duration BackoffDelay(const RetryPolicy& policy, int retry, double u);

// kInvalidArgument naming the bad field.
absl::Status ValidateRetryPolicy(const RetryPolicy& policy);

// Whether the device may train now (battery, privacy budget, policy...).
struct Eligibility {
  bool eligible = true;
  std::string reason;  // sent to the coordinator when not eligible
};

struct DeviceOptions {
  // --- Behaviour ---------------------------------------------------------
  // The identity the device registers and acts as. Required.
  std::string device_id;
  // Local examples advertised at registration; 0 uses the trainer's count.
  uint64_t num_examples = 0;
  // Free-form attributes sent at registration (e.g. "os", "model").
  std::map<std::string, std::string> attributes;
  // Consulted before every poll; empty means always eligible
  // (client/device_conditions.h gives battery, load and metered-link rules).
  std::function<Eligibility()> eligibility = nullptr;
  // After an accepted update the device declares itself ineligible for this
  // long (its owner's device is not a training farm); zero: no pause.
  absl::Duration min_participation_interval = absl::ZeroDuration();
  // Retry policy for every RPC.
  RetryPolicy retry;
  // Seeds backoff jitter and, per round, local training (DeriveSeed).
  uint64_t seed = 1;

  // The device's privacy ledger (privacy/privacy_ledger.h), borrowed; must
  // outlive the Device. When set, a DP-SGD task that would exceed the lower
  // of its lifetime budget and the task's dp_epsilon_budget (the
  // federation's [dp] device_epsilon) is refused (and the device polls as
  // ineligible from then on, saying why), and every DP-SGD run is charged
  // before its update leaves. Null trains DP tasks without enforcement,
  // unless the task carries a budget: then they are refused.
  PrivacyLedger* privacy_ledger = nullptr;
  // Non-empty when the device's ledger cannot be trusted (altered, or
  // missing where one was kept): every DP-SGD task is refused with this
  // reason, and the device polls as ineligible, until an operator resets
  // the ledger. privacy_ledger is then null.
  std::string privacy_ledger_refusal;
  // The slot the device serves inference from, borrowed; must outlive the
  // Device and pin the coordinator's key. Null: the device only trains.
  ModelSlot* inference_slot = nullptr;
  // Run on each deployed model right after it is installed: its accuracy on
  // held-back labelled examples (client/inference_health.h), nullopt when
  // the device has none, or an error when inference fails. A failure, or an
  // accuracy below `inference_min_accuracy`, rolls the slot back to the
  // previous model (ModelSlot::Rollback) and is reported to the coordinator
  // (DeviceReport.model_health), which counts it against the rollout. Null:
  // verification and loading are the whole check.
  std::function<absl::StatusOr<std::optional<double>>(const ModelHandle&)> inference_health_check = nullptr;
  double inference_min_accuracy = 0;
  // Metrics of the device's own services (e.g. the local inference socket,
  // client/inference_server.h) added to every report; empty: none.
  std::function<std::map<std::string, double>()> service_metrics = nullptr;
  // Directory for state that must survive restarts (the error-feedback
  // residual of the update encoder); empty keeps it in memory only.
  std::string state_dir;
  // Seals what the device keeps in state_dir (core/sealing.h: AES-256-GCM,
  // bound to the device id): derived from local data, it never touches the
  // disk in the clear. Required with state_dir.
  std::optional<SealingKey> state_key;
  // Store and forward (client/outbox.h): an update whose upload fails with
  // a transient error after the retry policy is sealed into
  // <state_dir>/outbox and sent, oldest first, before the next poll once the
  // link is back. If the coordinator can no longer use it (another round),
  // its mass returns to the error-feedback residual. At most this many
  // records and outbox_max_bytes bytes; the oldest are evicted first (their
  // mass returns too). 0 disables the outbox: such an update is dropped and
  // the residual restored. Needs state_dir. (Secure-aggregation tasks are
  // never kept: their masked input is only valid in its round.)
  int outbox_max_records = 0;
  uint64_t outbox_max_bytes = uint64_t{64} << 20;
  // The source of the distributed client-DP noise a secure-aggregation task
  // asks for (SecAggTask.noise_stddev), borrowed; null uses the system
  // CSPRNG. fedge-sim passes a seeded one for reproducible runs.
  SecureRandom* secagg_noise = nullptr;

  // --- Performance and limits -------------------------------------------
  // Largest model chunk requested per Download call.
  uint32_t download_chunk_bytes = 256 << 10;
  // Largest update chunk sent per Upload call.
  uint32_t upload_chunk_bytes = 256 << 10;
  // Models larger than this are refused before downloading (memory bound
  // against a broken or hostile coordinator).
  uint64_t max_model_bytes = uint64_t{256} << 20;
};

// kInvalidArgument naming the bad field.
absl::Status ValidateDeviceOptions(const DeviceOptions& options);

// Cumulative activity of a device since construction.
struct DeviceCounters {
  uint64_t polls = 0;
  uint64_t tasks_done = 0;          // updates accepted by the coordinator
  uint64_t tasks_failed = 0;        // tasks that ended without an accepted update
  uint64_t artifacts_rejected = 0;  // models refused by signature or content checks
  uint64_t inference_installs = 0;
  uint64_t inference_rollbacks = 0;  // models given up: failed health check, or the coordinator rolled back  // deployed models installed into the inference slot
  uint64_t retries = 0;             // transient errors retried
  uint64_t bytes_down = 0;          // model bytes received
  uint64_t bytes_up = 0;            // update bytes the coordinator answered (resent chunks included)
  uint64_t outbox_kept = 0;         // updates sealed into the outbox after a failed upload
  uint64_t outbox_delivered = 0;    // kept updates the coordinator accepted later (also in tasks_done)
  uint64_t outbox_refused = 0;      // kept updates it could no longer use: their mass went back to the residual
  uint64_t outbox_evicted = 0;      // kept updates dropped to respect the bounds (mass returned likewise)
  uint64_t outbox_discarded = 0;    // outbox records that failed to parse or authenticate
};

// What one RunOnce() did.
struct StepResult {
  // True when the poll returned a task (whatever became of it).
  bool had_task = false;
  std::string task_id;
  uint64_t round = 0;
  // OK when the task's update was accepted; otherwise why the task failed.
  absl::Status task_status;
  // Without a task: how long the coordinator asked the device to wait.
  absl::Duration retry_after = absl::ZeroDuration();
  // After PrepareStep: the size of the task's encoded update, waiting for
  // FinishStep to upload it; 0 when none waits (no task, the task failed,
  // or a kept update for it was delivered from the outbox).
  uint64_t pending_upload_bytes = 0;
  // The task runs secure aggregation (its Task carries SecAggTask): instead
  // of one upload, FinishStep drives the device's part of the protocol one
  // exchange at a time (client/secagg_exchange.h).
  bool secure_aggregation = false;
  // After FinishStep: the secure-aggregation exchange waits for the
  // coordinator to close a stage; call FinishStep again with this result
  // after `retry_after`. RunOnce does so, sleeping on the clock.
  bool waiting = false;
  // The protocol stage the exchange is in (4 once done); -1 without one.
  int secagg_stage = -1;
};

// When Run() stops.
struct RunLimits {
  // Stop after this many accepted updates in this call; 0 = no limit.
  int64_t max_tasks = 0;
  // Stop after this many consecutive polls without a task; 0 = no limit.
  int64_t max_idle_polls = 0;
  // Return the last error after this many consecutive failed steps (poll or
  // task failures); 0: never. With an outbox (DeviceOptions::
  // outbox_max_records), transient failures (the link or the coordinator is
  // down) do not count: the device waits the outage out.
  int64_t max_consecutive_failures = 5;
  // Checked before every poll; returning true stops the loop.
  std::function<bool()> stop = nullptr;
  // Run on the loop's thread before every poll (after `stop`), e.g. the
  // device's data pipeline taking new examples (client/device_pipeline.h).
  // A non-OK status ends Run with that status.
  std::function<absl::Status()> before_poll = nullptr;
};

class Device {
 public:
  // `transport`, `clock` and `trainer` are borrowed and must outlive the
  // Device. `coordinator_key` is the pinned key every model must verify
  // against. REQUIRES: ValidateDeviceOptions(options).ok() (see Create).
  Device(DeviceOptions options, Transport* transport, Clock* clock, Trainer* trainer, VerifyKey coordinator_key);
  // Validating constructor: kInvalidArgument for bad options or null
  // pointers.
  static absl::StatusOr<std::unique_ptr<Device>> Create(DeviceOptions options, Transport* transport, Clock* clock,
                                                        Trainer* trainer, VerifyKey coordinator_key);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Registers (retrying transient errors). Called by RunOnce when needed.
  absl::Status Register();

  // Polls once and runs the task if one is offered: at most one task. Does
  // not sleep on the coordinator's retry_after. Returns an error only when
  // the device could not register or poll (the coordinator's answer, e.g.
  // kFailedPrecondition once the federation is finished, or a transient
  // error that outlasted the retry policy); a failed task is reported in
  // StepResult::task_status and the counters.
  absl::StatusOr<StepResult> RunOnce();

  // RunOnce in two halves, for a driver that orders the uploads of many
  // devices itself: fedge-sim trains its devices in parallel, then lets
  // them upload in simulated arrival order, so a round does not depend on
  // which worker finished first, and each device learns the coordinator's
  // verdict as a deployed one does.
  // PrepareStep does everything before the upload: poll, download, verify,
  // train, charge the privacy ledger, encode. Its errors are RunOnce's.
  // FinishStep uploads the waiting update (if any), settles the
  // error-feedback residual on the verdict, reports, and counts the task;
  // its result's task_status is the task's outcome. RunOnce() is exactly
  // PrepareStep() followed by FinishStep(). FinishStep never uses the
  // trainer, so a driver may free it in between (fedge-sim does).
  // REQUIRES: every PrepareStep that returns OK is followed by FinishStep
  // with its result before the next PrepareStep (kFailedPrecondition
  // otherwise).
  absl::StatusOr<StepResult> PrepareStep();
  StepResult FinishStep(StepResult step);

  // Repeats RunOnce, sleeping on the clock as the coordinator asks (at least
  // retry.initial_backoff between idle polls), until a
  // limit in `limits` is reached (OK) or the coordinator answers a poll with
  // kFailedPrecondition (finished: OK). Returns the last error after
  // `max_consecutive_failures` consecutive failed steps.
  absl::Status Run(const RunLimits& limits);

  // Reports drift alarms (client/drift_response.h) to the coordinator with
  // the device's latest metrics, retrying transient errors as every RPC does.
  // With FederationOptions::favour_drifting the coordinator then samples
  // this device first. OK when delivered; the transport's error otherwise.
  // An empty span sends nothing and returns OK.
  absl::Status ReportDrift(absl::Span<const proto::DriftAlarm> alarms);

  DeviceCounters counters() const;
  const DeviceOptions& options() const { return options_; }

 private:
  // The eligibility sent with the next poll: a refused privacy budget, the
  // minimum separation, then options_.eligibility.
  Eligibility CurrentEligibility() const;
  // A task's serialised update, encoded and waiting to be uploaded.
  struct PendingUpload {
    proto::Task task;
    std::string bytes;
    uint64_t model_bytes = 0;  // the global model's download size, reported
    // Set for a secure-aggregation task: `bytes` is empty and the masked
    // input goes through this exchange instead of an upload.
    std::shared_ptr<SecAggExchange> secagg;
  };
  // Runs a task up to its upload. nullopt when it ended without one (a kept
  // update for the task was delivered from the outbox); an error when the
  // task failed (already reported to the coordinator).
  absl::StatusOr<std::optional<PendingUpload>> PrepareTask(const proto::Task& task);
  // Uploads, keeps in the outbox on a transient failure, settles the
  // encoder and reports: the returned status is the task's outcome.
  absl::Status DeliverUpdate(const PendingUpload& pending);
  // A secure-aggregation task's delta: clipped (already), noised when the
  // task asks for distributed DP, quantized on the round's shared scale and
  // handed to a new SecAggExchange.
  absl::StatusOr<PendingUpload> PrepareSecAgg(const proto::Task& task, std::vector<float> delta,
                                              uint64_t model_bytes, uint64_t seed);
  // One exchange of pending_'s secure aggregation (transient errors retried):
  // sets step.waiting while the coordinator has not closed the stage.
  absl::Status AdvanceSecAgg(StepResult& step);
  // kResourceExhausted when the task's DP-SGD run would exceed the budget
  // (and remembers the refusal); kFailedPrecondition for a task with a
  // budget on a device without a ledger; other codes for an invalid config.
  absl::Status CheckPrivacyBudget(const proto::Task& task);
  // Downloads the artifact of `kind` and `version` in chunks, resuming after
  // transient errors. `expected_size` 0 means unknown (taken from the first
  // chunk); either way at most options_.max_model_bytes.
  absl::StatusOr<std::string> DownloadArtifact(proto::ArtifactKind kind, uint64_t version, uint64_t expected_size);
  // Installs the advertised deployed model into options_.inference_slot when
  // it is newer than the one served and has not failed before. Best effort:
  // a failure is logged and counted, never fails the step.
  void RefreshInferenceModel(uint64_t advertised_version);
  // The coordinator tells an older version than the one served (it rolled a
  // rollout back): the slot returns to it, by Rollback when it is the
  // fallback, else by downloading it.
  void ReturnToInferenceModel(uint64_t version);
  // The health check of the just installed `version`: OK, or the slot is
  // rolled back. Either way the outcome is reported.
  void CheckInstalledModel(uint64_t version);
  // Keeps `outcome` for `version` in every report from now on and reports it now.
  void NoteModelHealth(uint64_t version, proto::ModelHealthOutcome outcome, std::string detail,
                       std::optional<double> accuracy = std::nullopt);
  absl::StatusOr<ModelParams> OpenModel(const proto::Task& task, std::string_view bytes);
  // Encodes with the task's codec (compression/encoder.h), keeping the
  // encoder (and its error-feedback residual) across tasks.
  absl::StatusOr<std::string> EncodeDelta(const std::string& codec, const std::vector<float>& delta, uint64_t seed);
  // After an upload: keeps (and persists) the encoder's new residual when the
  // update was delivered, or restores the residual it had before encoding,
  // so error feedback neither loses nor double-counts mass.
  void SettleEncoder(bool delivered);
  // Associated data of the sealed residual: binds it to this device.
  std::string EncoderStateContext() const;
  // A fresh encoder for `codec`, with the residual persisted in state_dir
  // when it was saved for the same codec and size.
  absl::StatusOr<std::unique_ptr<UpdateEncoder>> OpenEncoder(const std::string& codec, int64_t num_elements);
  // Uploads a serialised update in chunks, resuming after transient errors.
  absl::Status UploadUpdate(const std::string& task_id, const std::string& bytes);
  // The outbox, opened on first use; null when disabled or it cannot be
  // opened (logged once: the device then works as without one).
  Outbox* outbox();
  // Seals a serialised update whose upload failed into the outbox; false
  // when there is no outbox or it could not be stored.
  bool KeepInOutbox(const proto::Task& task, const std::string& bytes);
  // Brings outbox_discarded up to the outbox's count: any read of the
  // outbox (Put, Oldest, Find) may discard a record that fails its tag.
  void CountDiscarded();
  // Sends the kept updates, oldest first. Returns the transient error that
  // stopped it (the link is still down: the rest stay); OK otherwise.
  absl::Status DeliverOutbox();
  // Sends one kept update and removes it: true when accepted, false when
  // refused (its mass returned to the residual); the transient error when
  // the link is still down (it stays).
  absl::StatusOr<bool> DeliverKept(const StoredOutboxRecord& kept);
  // Adds a serialised update that will never be delivered back into the
  // residual of its codec's encoder, and persists it. Best effort: logged.
  void ReturnToResidual(const std::string& bytes);
  // Seals the residual into state_dir (when kept). Logged on failure.
  void PersistEncoder();
  void ReportMetrics(std::map<std::string, double> metrics);
  // Sets the report's spent epsilon and served inference model version.
  void AddDeviceState(proto::DeviceReport& report) const;
  // Calls `attempt` until it succeeds, fails with a non-transient error, or
  // `retry_.max_attempts` tries have failed; sleeps BackoffDelay in between.
  absl::Status WithRetry(std::string_view what, absl::FunctionRef<absl::Status()> attempt);
  void Count(uint64_t DeviceCounters::*counter, uint64_t n = 1);

  const DeviceOptions options_;
  Transport* const transport_;
  Clock* const clock_;
  Trainer* const trainer_;
  const VerifyKey coordinator_key_;
  SeededRandom jitter_rng_;
  bool registered_ = false;
  std::unique_ptr<UpdateEncoder> encoder_;
  std::unique_ptr<Outbox> outbox_;
  bool outbox_failed_ = false;  // opening it failed once: not retried every step
  OutboxNotice outbox_notice_;  // when "kept updates not sent yet" is logged
  std::string encoder_codec_;
  std::optional<PendingUpload> pending_;  // between PrepareStep and FinishStep
  std::optional<absl::Time> last_participation_;  // when the last update was accepted
  std::string budget_refusal_;        // non-empty once the privacy budget refused a task
  uint64_t refused_deployed_version_ = 0;  // the last deployed model the slot refused or rolled back
  proto::ModelHealth model_health_;          // of the last deployed model handled (version 0: none)
  // The metrics last reported; a drift report repeats them, since the
  // coordinator keeps only a device's latest report's metrics.
  std::map<std::string, double> last_metrics_;

  mutable absl::Mutex counters_mu_;
  DeviceCounters counters_ ABSL_GUARDED_BY(counters_mu_);
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DEVICE_H_
