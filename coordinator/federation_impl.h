// File: coordinator/federation_impl.h
//
// Internal to the Federation (federation.cc, federation_resume.cc): the
// state behind `Federation`, guarded by one mutex. Not a public API; nothing
// outside those files includes it.
//
// Thread-safety: every member marked ABSL_GUARDED_BY(mu) is accessed with
// `mu` held.
#ifndef FEDGE_COORDINATOR_FEDERATION_IMPL_H_
#define FEDGE_COORDINATOR_FEDERATION_IMPL_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "coordinator/deployed_model.h"
#include "coordinator/federation.h"
#include "coordinator/round_state.h"
#include "coordinator/secagg_round.h"
#include "coordinator/store/group_commit.h"
#include "coordinator/store/state_store.h"
#include "privacy/client_dp.h"

namespace fedge {
namespace federation_internal {

inline int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }

struct DeviceEntry {
  proto::DeviceInfo info;
  int64_t first_seen_unix_micros = 0;
  int64_t last_seen_unix_micros = 0;
  int64_t rounds_joined = 0;
  bool eligible = true;
  std::string ineligible_reason;
  double epsilon_spent = 0;
  std::map<std::string, double> metrics;  // last report
  proto::DeviceDrift drift;               // alarms == 0 until the first alarm
  uint64_t inference_version = 0;         // deployed model it last reported serving
  // Fleet registry (fleet_view.h).
  proto::DeviceStatus status = proto::DEVICE_STATUS_ACTIVE;  // never OFFLINE: that is derived
  std::string certificate_sha256;
  int64_t updates_accepted = 0;
  int64_t updates_rejected = 0;
  std::string last_rejection;
  int64_t last_rejection_unix_micros = 0;
  uint64_t training_version = 0;  // global version of its last accepted update
  std::map<std::string, double> training_metrics;  // of its last accepted update
  int64_t last_report_unix_micros = 0;
};

// A closed round waiting for evaluation (and deployment) of the model it
// produced.
struct PendingRecord {
  proto::RoundRecord record;
  std::optional<ModelParams> model_to_evaluate;
  std::optional<ModelParams> model_to_deploy;
};

}  // namespace federation_internal

struct Federation::Impl {
  using DeviceEntry = federation_internal::DeviceEntry;
  using PendingRecord = federation_internal::PendingRecord;

  FederationOptions options;
  std::unique_ptr<Strategy> strategy;
  SigningKey signing_key;
  Clock* clock;
  ModelEvaluator* evaluator;
  std::unique_ptr<ClientDp> client_dp;  // null without client-level DP

  mutable absl::Mutex mu;
  std::map<std::string, DeviceEntry> devices ABSL_GUARDED_BY(mu);  // ordered: selection is reproducible
  ModelParams global ABSL_GUARDED_BY(mu);
  uint64_t version ABSL_GUARDED_BY(mu) = 1;
  std::string signed_model ABSL_GUARDED_BY(mu);
  DeployedModel deployed ABSL_GUARDED_BY(mu);
  std::map<std::string, double> latest_metrics ABSL_GUARDED_BY(mu);
  uint64_t rounds_started ABSL_GUARDED_BY(mu) = 0;
  int64_t extra_rounds ABSL_GUARDED_BY(mu) = 0;  // granted for drift
  std::optional<RoundState> open ABSL_GUARDED_BY(mu);
  // The open round's secure aggregation (options.secagg.enabled); null
  // otherwise, and after a restart lost it (the round then fails).
  std::unique_ptr<SecAggRound> secagg ABSL_GUARDED_BY(mu);
  // Task ids whose secure aggregation finished in the last closed round: a
  // device asking about its last stage after the close is told it is done.
  std::set<std::string> secagg_done_tasks ABSL_GUARDED_BY(mu);
  // Final answers of the last closed round, by task id: a device whose reply
  // was lost retries its final chunk after its own update closed the round.
  std::map<std::string, RoundState::CommittedReply> last_round_replies ABSL_GUARDED_BY(mu);
  // Drift alarms reported while no round was open (e.g. during an
  // evaluation): counted in the next round's record.
  int64_t drift_alarms_between_rounds ABSL_GUARDED_BY(mu) = 0;
  std::vector<PendingRecord> pending ABSL_GUARDED_BY(mu);
  std::vector<proto::RoundRecord> completed ABSL_GUARDED_BY(mu);
  // The global version the deployed model was distilled from.
  uint64_t deployed_parent ABSL_GUARDED_BY(mu) = 0;
  // Staged rollout (federation_rollout.cc); nullopt when options.rollout is
  // off. The artifacts of the versions it serves besides the newest
  // deployed one (the rolled-out and the previous version), by version.
  std::optional<Rollout> rollout ABSL_GUARDED_BY(mu);
  std::map<uint64_t, std::string> rollout_artifacts ABSL_GUARDED_BY(mu);
  // Rollout transitions since the last completed round record.
  std::vector<std::string> rollout_events ABSL_GUARDED_BY(mu);
  // options.deployer wrapped by the TEST-ONLY DegradingDeployer, or null.
  std::unique_ptr<ModelDeployer> degrading_deployer;
  // Devices whose registry entry changed since it was last stored.
  std::set<std::string> dirty_devices ABSL_GUARDED_BY(mu);
  // Marks a registry entry for the next SaveDevices. Without a store there
  // is nothing to save it to: the set would only grow with the fleet.
  void MarkDirty(const std::string& device_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (options.store != nullptr) dirty_devices.insert(device_id);
  }
  // Batches the appends of concurrent acknowledgements (null without a
  // store). Declared after mu, which it borrows.
  std::unique_ptr<GroupCommit> journal;
  // Updates of the open round being made durable: they count towards the
  // target, so a batch never takes the round past it, and the round does
  // not close at its deadline until they are settled.
  int64_t being_stored ABSL_GUARDED_BY(mu) = 0;
  // Complete uploads being checked without the lock: the round does not
  // close at its deadline until they are decided either.
  int64_t being_checked ABSL_GUARDED_BY(mu) = 0;
  // Asynchronous mode: the signed models of the previous versions still
  // within the staleness bound, by version, so a device whose task was
  // issued just before a server step can still download its base version.
  std::map<uint64_t, std::string> recent_models ABSL_GUARDED_BY(mu);
  // Set when closing a round could not be stored: the in-memory state is
  // ahead of the store, so nothing more is acknowledged until a restart.
  absl::Status store_error ABSL_GUARDED_BY(mu);

  Impl(FederationOptions o, std::unique_ptr<Strategy> s, SigningKey k, Clock* c, ModelEvaluator* e)
      : options(std::move(o)),
        strategy(std::move(s)),
        signing_key(std::move(k)),
        clock(c),
        evaluator(e),
        deployed(signing_key.verify_key(), options.model_id) {}

  absl::Status PublishModel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  std::unique_ptr<RoundAggregator> BeginAggregation(int64_t target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void MaybeOpenRound() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void CloseRound(std::string_view why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Closes the open round at its target, or once every selected device's
  // update is final; never while updates are being stored (their answers
  // close it).
  void CloseIfComplete() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // An upload's final chunk, taken to be checked without the lock: a copy
  // of its bytes and of what the checks need from its round.
  struct Received {
    bool complete = false;
    RoundState::UploadCheck check;
    std::string bytes;
  };
  // Adds one chunk. The answer, unless the upload is now complete: then
  // `received` holds it, the task is marked storing (a resubmission is
  // answered UNAVAILABLE) and counted in being_checked until Decide.
  // `whole`: the request's data when it is a whole update in one chunk,
  // copied before the lock was taken; empty otherwise.
  absl::StatusOr<proto::UploadResponse> Receive(const proto::UploadRequest& request, std::string whole,
                                                Received& received) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  using UploadDone = Federation::UploadDone;
  // A checked upload's answer: rejected, or in memory folded and
  // acknowledged at once; with a store, nullopt: queued on `journal` with
  // `done` (moved from), which the journal calls once the update is final.
  std::optional<absl::StatusOr<proto::UploadResponse>> Decide(Received& received,
                                                              absl::StatusOr<RoundState::CheckedUpload> checked,
                                                              const char* reason, UploadDone& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Waits for room in the round (updates being stored count as accepted)
  // and queues the checked upload on `journal` (nullopt). A refusal is
  // answered at once.
  std::optional<absl::StatusOr<proto::UploadResponse>> BeginStoring(RoundState::TaskState* task, std::string bytes,
                                                                    RoundState::CheckedUpload checked,
                                                                    UploadDone& done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // A checked update's final answer: folded and acknowledged when `stored`
  // is OK, otherwise refused with the store's error (nothing counted).
  absl::StatusOr<proto::UploadResponse> Settle(RoundState::TaskState& task, const absl::Status& stored,
                                               RoundState::CheckedUpload checked) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // A counted update's acknowledgement (and the round's close at its target);
  // `trained` (its checked metrics) goes to the device's registry entry.
  proto::UploadResponse Acknowledge(RoundState::TaskState& task, std::map<std::string, double> trained)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // An update that could not be stored: dropped, the device sends it again.
  absl::Status Refuse(RoundState::TaskState& task, const absl::Status& stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // An update refused by the checks: final for the task. May close the
  // round (CloseIfComplete): `task` is dangling after it.
  absl::Status Reject(RoundState::TaskState& task, absl::Status why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void GrantExtraRoundOnDrift(proto::RoundRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // --- Asynchronous mode (federation_async.cc) ---
  // The options of round or buffer `round` on the current global version
  // (a buffer's when options.async is enabled).
  RoundState::Options RoundOptions(uint64_t round, int64_t target, proto::TrainConfig train, absl::Time opened,
                                   absl::Time deadline) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Opens the next buffer (no sampling, no deadline), taking over the
  // tasks still in training; stores it first with a store.
  void OpenAsyncBuffer(std::map<std::string, RoundState::TaskState> carried) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The asynchronous parts of a closed buffer's record: tasks issued, mean
  // and largest staleness of its updates.
  static void FillAsyncRecord(const RoundState& buffer, proto::RoundRecord& record);
  // Keeps the signed model of the version about to be replaced while it is
  // within the staleness bound.
  void KeepServedModel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The signed global model of `version` if it is served: the current one
  // or, in asynchronous mode, a recent one. Null otherwise.
  const std::string* ServedModel(uint64_t version) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Asynchronous mode: kFailedPrecondition for an upload of a task older
  // than the device's last accepted update (it was final long ago; nothing
  // is counted twice). OK otherwise.
  absl::Status CheckNotSuperseded(const proto::UploadRequest& request) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // --- Staged rollout (federation_rollout.cc) ---
  // The deployed version `device_id` is told to serve (0: none).
  uint64_t DeployedVersionFor(const std::string& device_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The signed artifact of deployed `version`, or null when it is not served.
  const std::string* DeployedArtifact(uint64_t version) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Starts a rollout of a newer deployment once none is active, and applies
  // the rollout's rules (Tick).
  void DriveRollout() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Feeds a checked report to the rollout.
  void ObserveForRollout(const proto::DeviceReport& report) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Logs and stores a rollout transition.
  void NoteRolloutEvent(std::string event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // True while devices must keep polling after the last round: a rollout
  // runs, or a deployment waits for its rollout to start.
  bool RolloutActive() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return rollout && (rollout->active() || deployed.version() > rollout->version());
  }
  // The rollout's state and its transitions since the previous record, as
  // record metrics rollout_state (proto::RolloutState), rollout_stage (1-based),
  // rollout_version, rollout_advanced and rollout_aborted (counts), and the
  // devices last reporting to serve the rolled-out version
  // (rollout_serving_version), the previous one (rollout_serving_previous)
  // or another (rollout_serving_other).
  void AddRolloutMetrics(proto::RoundRecord& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Resumes the stored rollout record and its artifacts.
  absl::Status ResumeRollout(const std::string& record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Fleet registry (federation_fleet.cc): counts a refused update against
  // its device, keeping the reason.
  void NoteRejection(const std::string& device_id, const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Enrolment (federation_admission.cc): kPermissionDenied, saying why, for
  // a device that is pending or revoked; OK otherwise (also when unknown).
  absl::Status CheckAdmitted(const std::string& device_id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Registered through Register (an entry made by enrolment is not, until
  // the device registers): only such devices count and are selected.
  static bool Registered(const DeviceEntry& e) { return !e.info.device_id().empty(); }
  // The registry entry as the Admin service shows it, at `now`.
  proto::DeviceSummary Summarize(const std::string& id, const DeviceEntry& entry, int64_t now_unix_micros) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The server step, all or nothing: the round's aggregate must pass
  // CheckAggregate and the stepped model must be finite, otherwise the
  // strategy's state is restored and the served model stays as it was. This
  // holds for every strategy, whatever the update limits are.
  absl::Status StepGlobalModel(RoundState& round, int64_t accepted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status ApplyAggregate(std::vector<float> delta, int64_t accepted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // --- Secure aggregation (federation_secagg.cc) ---
  // Starts the open round's SecAggRound: cohort, graph seed, shared scale.
  void OpenSecAgg() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The clip norm the shared scale and the devices' clipping use.
  double SecAggClipNorm() const;
  // At close: the round's aggregate from secure aggregation (its record
  // gets the costs and `accepted` = contributors), or why it failed. With
  // client DP the noised sum is divided by `expected` (the round's target).
  absl::StatusOr<SecAggAggregate> FinishSecAgg(proto::RoundRecord& record, int64_t expected)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Closes the round once its secure aggregation has ended.
  void CloseIfSecAggEnded() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status CheckAggregate(absl::Span<const float> delta, int64_t accepted) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The closed round's evaluation on the test set, into its record.
  void Evaluate(PendingRecord& pending) ABSL_LOCKS_EXCLUDED(mu);
  // Runs the deployer on a closed round's model (without the lock) and
  // publishes the result, recording the outcome in the round's metrics.
  void Deploy(PendingRecord& pending) ABSL_LOCKS_EXCLUDED(mu);
  // Rounds to run in all (0: no limit), extra drift rounds included.
  int64_t RoundLimit() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return options.max_rounds > 0 ? options.max_rounds + extra_rounds : 0;
  }
  bool Finished() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return RoundLimit() > 0 && static_cast<int64_t>(completed.size()) >= RoundLimit();
  }

  // --- Durability (options.store) ---
  RunCounters Counters() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return RunCounters{rounds_started, extra_rounds, latest_metrics, client_dp ? client_dp->clip_norm() : 0,
                       client_dp ? client_dp->rounds() : 0};
  }
  StoredDevice ToStored(const std::string& id, const DeviceEntry& e) const;
  std::vector<StoredDevice> TakeDirtyDevices() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The answer to a device whose update could not be stored.
  static absl::Status StoreFailure(const absl::Status& stored);
  // Fresh store: the initial model. Stored run: everything is resumed.
  absl::Status LoadOrInitialize(const ModelParams& initial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status Resume(StoredState state, const ModelParams& initial) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // `progress`: the round's stored progress (empty: replay the updates).
  absl::Status ResumePending(PendingRound stored) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  absl::Status ResumeOpenRound(const StoredOpenRound& r, const std::vector<AckedUpdate>& updates,
                               std::string progress) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // options.restart_open_round: `r` opened again, empty.
  absl::Status RestartOpenRound(const StoredOpenRound& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The stored open round `r` as the open round again (no updates yet),
  // closing at `deadline`. kDataLoss when it trains another model version.
  absl::Status ReopenRound(const StoredOpenRound& r, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_FEDERATION_IMPL_H_
