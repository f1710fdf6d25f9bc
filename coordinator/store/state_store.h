// File: coordinator/store/state_store.h
//
// `StateStore` is where a coordinator keeps the state that must survive a
// crash (coordinator/store/README.md): the run's configuration fingerprint,
// the global model versions with the strategy's server state, the round
// records, the device registry, the deployed INT8 artifacts and the open
// round with every update already acknowledged.
//
// The interface is deliberately narrow and record-oriented (no SQL leaks
// through it) so a server database could implement it later; the default
// implementation is SqliteStateStore (sqlite_state_store.h).
//
// Contract: a call that returns OK has made its change durable (it survives
// kill -9 and power loss as far as the file system's fsync allows); a call
// that fails changed nothing. kResourceExhausted means the disk is full.
//
// Thread-safety: implementations are safe for concurrent use. The
// Federation calls them under its own lock, except AppendUpdates, which
// GroupCommit (group_commit.h) calls without it.
#ifndef FEDGE_COORDINATOR_STORE_STATE_STORE_H_
#define FEDGE_COORDINATOR_STORE_STATE_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/fedge.pb.h"

namespace fedge {

// The settings that give a run its meaning (model, strategy, codec, DP...),
// as key -> canonical value. A resumed run must present the same ones.
using RunConfig = std::map<std::string, std::string>;

// One published global model version.
struct StoredModel {
  uint64_t version = 0;
  // The signed artifact devices download (core/artifact.h).
  std::string artifact;
  // Strategy::ExportState() after the step that produced this version.
  std::vector<std::vector<float>> strategy_state;
};

struct StoredDevice {
  std::string device_id;
  proto::DeviceInfo info;
  int64_t first_seen_unix_micros = 0;
  int64_t last_seen_unix_micros = 0;
  // Rounds in which an update of this device was accepted.
  int64_t rounds_joined = 0;
  double epsilon_spent = 0;
  // The deployed INT8 version it last reported serving (0: none).
  uint64_t inference_version = 0;
  proto::DeviceDrift drift;
  // Fleet registry (schema version 3). The registration status: pending,
  // active or revoked (offline is derived from last_seen, never stored).
  proto::DeviceStatus status = proto::DEVICE_STATUS_ACTIVE;
  std::string certificate_sha256;  // hex SHA-256 of its client certificate (mutual TLS)
  int64_t updates_accepted = 0;
  int64_t updates_rejected = 0;
  std::string last_rejection;  // why its last refused update was refused
  int64_t last_rejection_unix_micros = 0;
  uint64_t training_version = 0;  // global version of its last accepted update
  std::map<std::string, double> metrics;  // its last report
  int64_t last_report_unix_micros = 0;
  std::map<std::string, double> training_metrics;  // of its last accepted update
};

// The round in progress: enough to rebuild its RoundState.
struct StoredOpenRound {
  uint64_t round = 0;
  uint64_t model_version = 0;
  int64_t target = 1;
  int64_t opened_unix_micros = 0;
  int64_t deadline_unix_micros = 0;
  std::vector<std::string> selected;
  proto::TrainConfig train;
};

// An update whose final chunk was acknowledged: the assembled upload bytes
// (a serialized proto::EncodedUpdate) exactly as received, or none when the
// round's stored progress counts it (AckBatch::round_progress).
struct AckedUpdate {
  uint64_t round = 0;
  std::string task_id;
  std::string device_id;
  std::string bytes;
  // The upload's size in bytes (the acknowledgement repeats it); 0: bytes.size().
  uint64_t size = 0;
};

// The acknowledgements of one group commit (group_commit.h), stored
// atomically.
struct AckBatch {
  std::vector<AckedUpdate> updates;
  // The open round's progress once these updates are counted
  // (RoundState::SaveProgress), replacing the stored one; it covers every
  // acknowledged update of the round, so theirs need no bytes. Empty: the
  // round is not checkpointed and every update carries its bytes.
  std::string round_progress;
};

// A closed round whose record is not complete yet (evaluation and
// deployment still to run).
struct PendingRound {
  proto::RoundRecord record;
  bool evaluate = false;
  bool deploy = false;
  // Filled by Load() only: the signed model of record.model_version() when
  // it is older than StoredState::model (a newer round closed before this
  // one was completed) and still kept; empty otherwise.
  std::string model_artifact;
};

struct StoredDeployment {
  uint64_t version = 0;
  uint64_t parent_version = 0;  // the global version it was distilled from
  std::string artifact;
};

// Counters of the round engine.
struct RunCounters {
  uint64_t rounds_started = 0;
  int64_t extra_rounds = 0;
  // The latest evaluation metrics, carried in the next model's header.
  std::map<std::string, double> latest_metrics;
  // Client-level DP (privacy/client_dp.h): the clip norm the next round
  // uses and the rounds released so far (the accountant's state). 0: none.
  double client_clip_norm = 0;
  int64_t client_dp_rounds = 0;
};

// Everything a restarted coordinator needs, as loaded at start-up.
struct StoredState {
  std::optional<StoredModel> model;  // the newest version; nullopt: nothing stored yet
  RunCounters counters;
  std::vector<proto::RoundRecord> completed;  // oldest first
  // Rounds closed but not yet completed (evaluation or deployment was
  // running), oldest first. Several when rounds closed while an older one was
  // still being evaluated (the next round opens before the evaluation); each
  // older one carries its own model (PendingRound::model_artifact).
  std::vector<PendingRound> pending;
  std::vector<StoredDevice> devices;  // by device id
  std::optional<StoredOpenRound> open;
  // Updates acknowledged in the open round, in acknowledgement order.
  std::vector<AckedUpdate> open_updates;
  // The open round's latest progress (AckBatch::round_progress); empty when
  // it is rebuilt by replaying open_updates.
  std::string open_progress;
  // Updates acknowledged in the last closed round (their final chunk may be
  // retried by a device whose reply was lost).
  std::vector<AckedUpdate> last_closed_updates;
  std::optional<StoredDeployment> deployed;  // the newest deployment
  // The staged rollout's record (a serialised proto::StoredRollout); empty
  // when none was stored.
  std::string rollout;
};

// What closing a round changes, atomically.
struct RoundClosure {
  uint64_t round = 0;
  std::optional<StoredModel> model;  // set when the round produced a version
  PendingRound pending;
  RunCounters counters;
  // Devices whose records changed in this round (rounds_joined, drift).
  std::vector<StoredDevice> devices;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // The stored run's configuration; nullopt when no run was started here.
  virtual absl::StatusOr<std::optional<RunConfig>> ReadRunConfig() = 0;
  // Starts a new run: forgets every stored record and keeps `config`.
  virtual absl::Status StartRun(const RunConfig& config) = 0;
  // Everything stored, verified (model hash) and ready to resume.
  virtual absl::StatusOr<StoredState> Load() = 0;

  // The first model of a run (before any round).
  virtual absl::Status SaveInitialModel(const StoredModel& model) = 0;
  // Inserts or replaces device records.
  virtual absl::Status SaveDevices(const std::vector<StoredDevice>& devices) = 0;
  // Stores the round now open. Updates and progress already stored for this
  // round or a later one are dropped: a round opened (again) starts with none (a
  // simulator re-runs an interrupted round from its start).
  virtual absl::Status OpenRound(const StoredOpenRound& round, const RunCounters& counters) = 0;
  // Appends acknowledged updates of the open round, in order, and its
  // progress, in one transaction (one sync): all or none. OK means every one
  // is durable. The order is the replay order of Load().open_updates.
  virtual absl::Status AppendUpdates(const AckBatch& batch) = 0;
  // One update with its bytes (AppendUpdates of one).
  absl::Status AppendUpdate(const AckedUpdate& update) { return AppendUpdates(AckBatch{{update}, {}}); }
  // Closes the open round: stores the new model version (if any), the
  // pending record and counters, drops the open round, and forgets updates
  // of older rounds.
  virtual absl::Status CloseRound(const RoundClosure& closure) = 0;
  // Turns the pending record of `record.round()` into a completed one.
  virtual absl::Status CompleteRound(const proto::RoundRecord& record, const RunCounters& counters) = 0;
  virtual absl::Status SaveDeployment(const StoredDeployment& deployment) = 0;
  // A stored deployment by version (the staged rollout serves an older one
  // besides the newest); nullopt when that version is not stored.
  virtual absl::StatusOr<std::optional<StoredDeployment>> LoadDeployment(uint64_t version) = 0;
  // Replaces the staged rollout's record (coordinator/rollout.h).
  virtual absl::Status SaveRollout(const std::string& record) = 0;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_STATE_STORE_H_
