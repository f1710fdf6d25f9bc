#include "coordinator/store/sqlite_state_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/store/blob_encoding.h"
#include "coordinator/store/model_files.h"
#include "coordinator/store/schema.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;

constexpr char kWhatToDo[] =
    "restore the state directory from a backup (fedge-coordinator --backup), or move it away and start again";

// A database that cannot even be read becomes kDataLoss naming the file.
absl::Status Unreadable(const std::string& path, const absl::Status& status) {
  return absl::DataLossError(absl::StrCat(path, " is corrupt, truncated or not a fedge state database (",
                                          status.message(), "); ", kWhatToDo));
}

template <typename Proto>
absl::StatusOr<Proto> ParseProto(const std::string& bytes, std::string_view what, const std::string& path) {
  Proto proto;
  if (!proto.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat(path, ": the stored ", AsAbsl(what), " does not parse; ", kWhatToDo));
  }
  return proto;
}

absl::Status Annotate(const absl::Status& status, const std::string& path) {
  if (status.ok() || absl::StrContains(status.message(), path)) return status;
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStateStore>> SqliteStateStore::Open(const SqliteStateStoreOptions& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("state store: the state directory must be set");
  if (options.keep_models < 1) return absl::InvalidArgumentError("state store: keep_models must be >= 1");
  const std::string models_dir = (fs::path(options.dir) / "models").string();
  std::error_code ec;
  fs::create_directories(models_dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create the state directory ", models_dir, ": ", ec.message()));
  }
  const std::string lock_path = (fs::path(options.dir) / "lock").string();
  const int lock_fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", lock_path));
  if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    close(lock_fd);
    return absl::UnavailableError(absl::StrCat(
        "the state directory ", options.dir,
        " is in use by another fedge-coordinator (", lock_path, " is locked); stop it or give another --state"));
  }
  const std::string db_path = (fs::path(options.dir) / "state.db").string();
  absl::StatusOr<std::unique_ptr<SqliteDb>> db = SqliteDb::Open(db_path, /*create=*/true);
  auto fail = [lock_fd](absl::Status status) {
    close(lock_fd);
    return status;
  };
  if (!db.ok()) return fail(db.status());
  // Large pages for a new database (an existing one keeps its own): a
  // round's progress or a global model's strategy state is one model-sized
  // BLOB, and every page of it is a separate write to the WAL and again to
  // the database at a checkpoint. 1024 of them (64 MiB) between
  // checkpoints: a checkpoint writes each page once, however many times the
  // WAL holds it (a round's progress is rewritten with every batch).
  if (absl::Status pages = (*db)->Exec("PRAGMA page_size = 65536; PRAGMA wal_autocheckpoint = 1024"); !pages.ok()) {
    return fail(Unreadable(db_path, pages));
  }
  // A file that is not SQLite fails here; a damaged one in quick_check.
  if (absl::Status wal = (*db)->Exec("PRAGMA journal_mode = WAL"); !wal.ok()) return fail(Unreadable(db_path, wal));
  {
    absl::StatusOr<SqliteStatement> check = (*db)->Prepare("PRAGMA quick_check");
    if (!check.ok()) return fail(Unreadable(db_path, check.status()));
    absl::StatusOr<bool> row = check->Step();
    if (!row.ok()) return fail(Unreadable(db_path, row.status()));
    if (*row && check->Text(0) != "ok") {
      return fail(Unreadable(db_path, absl::DataLossError(absl::StrCat("quick_check: ", check->Text(0)))));
    }
  }
  if (absl::Status s = (*db)->Exec(options.sync_every_commit ? "PRAGMA synchronous = FULL"
                                                              : "PRAGMA synchronous = NORMAL");
      !s.ok()) {
    return fail(s);
  }
  if (options.max_pages > 0) {
    if (absl::Status s = (*db)->Exec(absl::StrCat("PRAGMA max_page_count = ", options.max_pages)); !s.ok()) {
      return fail(s);
    }
  }
  if (absl::Status migrated = MigrateSchema(**db); !migrated.ok()) {
    return fail(absl::IsDataLoss(migrated) ? Unreadable(db_path, migrated) : migrated);
  }
  absl::StatusOr<std::unique_ptr<ProgressFile>> progress = ProgressFile::Open(
      options.dir, {.sync = options.sync_every_commit, .max_slot_bytes = options.max_progress_bytes});
  if (!progress.ok()) {
    if (!absl::IsDataLoss(progress.status())) return fail(progress.status());
    return fail(absl::DataLossError(absl::StrCat(progress.status().message(), "; ", kWhatToDo)));
  }
  return std::unique_ptr<SqliteStateStore>(
      new SqliteStateStore(options, db_path, models_dir, lock_fd, *std::move(db), *std::move(progress)));
}

SqliteStateStore::SqliteStateStore(SqliteStateStoreOptions options, std::string db_path, std::string models_dir,
                                   int lock_fd, std::unique_ptr<SqliteDb> db,
                                   std::unique_ptr<ProgressFile> progress)
    : options_(std::move(options)),
      db_path_(std::move(db_path)),
      models_dir_(std::move(models_dir)),
      lock_fd_(lock_fd),
      db_(std::move(db)),
      progress_(std::move(progress)) {}

SqliteStateStore::~SqliteStateStore() {
  {
    absl::MutexLock lock(&mu_);
    db_.reset();
    progress_.reset();
  }
  close(lock_fd_);  // releases the flock
}

absl::StatusOr<std::optional<RunConfig>> SqliteStateStore::ReadRunConfig() {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("SELECT key, value FROM run_config"));
  RunConfig config;
  for (;;) {
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    config[q.Text(0)] = q.Text(1);
  }
  if (config.empty()) return std::nullopt;
  return config;
}

absl::Status SqliteStateStore::StartRun(const RunConfig& config) {
  std::vector<std::string> hashes;
  {
    absl::MutexLock lock(&mu_);
    FEDGE_RETURN_IF_ERROR(progress_->Clear());
    SqliteTransaction txn(db_.get());
    FEDGE_RETURN_IF_ERROR(txn.Begin());
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement models, db_->Prepare("SELECT sha256 FROM models"));
    for (;;) {
      FEDGE_ASSIGN_OR_RETURN(bool row, models.Step());
      if (!row) break;
      hashes.push_back(models.Text(0));
    }
    FEDGE_RETURN_IF_ERROR(db_->Exec(
        "DELETE FROM run_config; DELETE FROM meta; DELETE FROM models; DELETE FROM rounds; DELETE FROM devices; "
        "DELETE FROM open_round; DELETE FROM updates; DELETE FROM round_progress; DELETE FROM deployments; "
        "DELETE FROM rollout;"));
    for (const auto& [key, value] : config) {
      FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT INTO run_config VALUES (?, ?)"));
      FEDGE_RETURN_IF_ERROR(insert.BindText(1, key).BindText(2, value).Run());
    }
    FEDGE_RETURN_IF_ERROR(txn.Commit());
  }
  RemoveModelFiles(hashes);
  return absl::OkStatus();
}

absl::Status SqliteStateStore::InsertModel(const StoredModel& model) {
  FEDGE_ASSIGN_OR_RETURN(const std::string sha, WriteModelFile(models_dir_, model.artifact));
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT OR REPLACE INTO models VALUES (?, ?, ?, ?)"));
  return insert.Bind(1, static_cast<int64_t>(model.version))
      .BindText(2, sha)
      .Bind(3, static_cast<int64_t>(model.artifact.size()))
      .BindBlob(4, EncodeFloatVectors(model.strategy_state))
      .Run();
}

absl::Status SqliteStateStore::SaveCounters(const RunCounters& counters) {
  auto put = [&](std::string_view key, auto bind) -> absl::Status {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement stmt, db_->Prepare("INSERT OR REPLACE INTO meta VALUES (?, ?)"));
    stmt.BindText(1, key);
    bind(stmt);
    return stmt.Run();
  };
  FEDGE_RETURN_IF_ERROR(
      put("rounds_started", [&](SqliteStatement& s) { s.Bind(2, static_cast<int64_t>(counters.rounds_started)); }));
  FEDGE_RETURN_IF_ERROR(put("extra_rounds", [&](SqliteStatement& s) { s.Bind(2, counters.extra_rounds); }));
  FEDGE_RETURN_IF_ERROR(put("client_clip_norm", [&](SqliteStatement& s) { s.Bind(2, counters.client_clip_norm); }));
  FEDGE_RETURN_IF_ERROR(put("client_dp_rounds", [&](SqliteStatement& s) { s.Bind(2, counters.client_dp_rounds); }));
  return put("latest_metrics", [&](SqliteStatement& s) { s.BindBlob(2, EncodeMetrics(counters.latest_metrics)); });
}

absl::Status SqliteStateStore::SaveDevicesLocked(const std::vector<StoredDevice>& devices) {
  for (const StoredDevice& d : devices) {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement upsert,
                           db_->Prepare("INSERT OR REPLACE INTO devices (device_id, info, first_seen, last_seen, "
                                        "rounds_joined, epsilon, inference_version, drift, status, cert_sha256, "
                                        "updates_accepted, updates_rejected, last_rejection, last_rejection_at, "
                                        "training_version, report, last_report, training_metrics) VALUES (?, ?, ?, "
                                        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    FEDGE_RETURN_IF_ERROR(upsert.BindText(1, d.device_id)
                              .BindBlob(2, d.info.SerializeAsString())
                              .Bind(3, d.first_seen_unix_micros)
                              .Bind(4, d.last_seen_unix_micros)
                              .Bind(5, d.rounds_joined)
                              .Bind(6, d.epsilon_spent)
                              .Bind(7, static_cast<int64_t>(d.inference_version))
                              .BindBlob(8, d.drift.SerializeAsString())
                              .Bind(9, static_cast<int64_t>(d.status))
                              .BindText(10, d.certificate_sha256)
                              .Bind(11, d.updates_accepted)
                              .Bind(12, d.updates_rejected)
                              .BindText(13, d.last_rejection)
                              .Bind(14, d.last_rejection_unix_micros)
                              .Bind(15, static_cast<int64_t>(d.training_version))
                              .BindBlob(16, EncodeMetrics(d.metrics))
                              .Bind(17, d.last_report_unix_micros)
                              .BindBlob(18, EncodeMetrics(d.training_metrics))
                              .Run());
  }
  return absl::OkStatus();
}

absl::Status SqliteStateStore::SaveInitialModel(const StoredModel& model) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_RETURN_IF_ERROR(InsertModel(model));
  return txn.Commit();
}

absl::Status SqliteStateStore::SaveDevices(const std::vector<StoredDevice>& devices) {
  if (devices.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_RETURN_IF_ERROR(SaveDevicesLocked(devices));
  return txn.Commit();
}

absl::Status SqliteStateStore::OpenRound(const StoredOpenRound& r, const RunCounters& counters) {
  absl::MutexLock lock(&mu_);
  // Before the round is stored: what the slots hold belongs to a closed
  // round, or to this one when it opens again (and is dropped with it).
  FEDGE_RETURN_IF_ERROR(progress_->Clear());
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert,
                         db_->Prepare("INSERT OR REPLACE INTO open_round VALUES (1, ?, ?, ?, ?, ?, ?, ?)"));
  FEDGE_RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(r.round))
                            .Bind(2, static_cast<int64_t>(r.model_version))
                            .Bind(3, r.target)
                            .Bind(4, r.opened_unix_micros)
                            .Bind(5, r.deadline_unix_micros)
                            .BindBlob(6, EncodeStrings(r.selected))
                            .BindBlob(7, r.train.SerializeAsString())
                            .Run());
  for (const char* sql : {"DELETE FROM updates WHERE round >= ?", "DELETE FROM round_progress WHERE round >= ?"}) {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement drop, db_->Prepare(sql));
    FEDGE_RETURN_IF_ERROR(drop.Bind(1, static_cast<int64_t>(r.round)).Run());
  }
  FEDGE_RETURN_IF_ERROR(SaveCounters(counters));
  return txn.Commit();
}

absl::Status SqliteStateStore::InsertUpdates(const std::vector<AckedUpdate>& updates) {
  for (const AckedUpdate& u : updates) {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT INTO updates (round, task_id, device_id, "
                                                                "bytes, size) VALUES (?, ?, ?, ?, ?)"));
    FEDGE_RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(u.round))
                              .BindText(2, u.task_id)
                              .BindText(3, u.device_id)
                              .BindBlob(4, u.bytes)
                              .Bind(5, static_cast<int64_t>(u.size != 0 ? u.size : u.bytes.size()))
                              .Run());
  }
  return absl::OkStatus();
}

absl::Status SqliteStateStore::AppendUpdates(const AckBatch& batch) {
  absl::MutexLock lock(&mu_);
  if (!batch.round_progress.empty() && !batch.updates.empty()) {
    return progress_->Write(batch.updates.front().round, batch.round_progress, batch.updates);
  }
  // One transaction for the whole batch: one WAL sync (FULL) however many
  // uploads it acknowledges (group commit, group_commit.h).
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_RETURN_IF_ERROR(InsertUpdates(batch.updates));
  return txn.Commit();
}

absl::StatusOr<std::vector<std::string>> SqliteStateStore::PruneModels() {
  std::vector<std::string> dropped;
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement old,
                         db_->Prepare("SELECT version, sha256 FROM models ORDER BY version DESC LIMIT -1 OFFSET ?"));
  old.Bind(1, options_.keep_models);
  std::vector<int64_t> versions;
  for (;;) {
    FEDGE_ASSIGN_OR_RETURN(bool row, old.Step());
    if (!row) break;
    versions.push_back(old.Int(0));
    dropped.push_back(old.Text(1));
  }
  for (int64_t v : versions) {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement del, db_->Prepare("DELETE FROM models WHERE version = ?"));
    FEDGE_RETURN_IF_ERROR(del.Bind(1, v).Run());
  }
  // A hash still used by a kept version (identical bytes) stays.
  std::vector<std::string> unused;
  for (const std::string& sha : dropped) {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement used, db_->Prepare("SELECT count(*) FROM models WHERE sha256 = ?"));
    used.BindText(1, sha);
    FEDGE_ASSIGN_OR_RETURN(bool row, used.Step());
    if (row && used.Int(0) == 0) unused.push_back(sha);
  }
  return unused;
}

void SqliteStateStore::RemoveModelFiles(const std::vector<std::string>& hashes) {
  for (const std::string& sha : hashes) {
    std::error_code ec;
    fs::remove(ModelFilePath(models_dir_, sha), ec);
  }
}

absl::Status SqliteStateStore::CloseRound(const RoundClosure& c) {
  std::vector<std::string> unused;
  {
    absl::MutexLock lock(&mu_);
    SqliteTransaction txn(db_.get());
    FEDGE_RETURN_IF_ERROR(txn.Begin());
    if (c.model) FEDGE_RETURN_IF_ERROR(InsertModel(*c.model));
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT OR REPLACE INTO rounds VALUES (?, 0, ?, ?, ?)"));
    FEDGE_RETURN_IF_ERROR(insert.Bind(1, static_cast<int64_t>(c.round))
                              .Bind(2, static_cast<int64_t>(c.pending.evaluate))
                              .Bind(3, static_cast<int64_t>(c.pending.deploy))
                              .BindBlob(4, c.pending.record.SerializeAsString())
                              .Run());
    FEDGE_RETURN_IF_ERROR(db_->Exec("DELETE FROM open_round"));
    // The closed round's acknowledgements, for replies to devices that
    // retry their final chunk (StoredState::last_closed_updates).
    if (progress_->round() == c.round) FEDGE_RETURN_IF_ERROR(InsertUpdates(progress_->acked()));
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement forget, db_->Prepare("DELETE FROM updates WHERE round < ?"));
    FEDGE_RETURN_IF_ERROR(forget.Bind(1, static_cast<int64_t>(c.round)).Run());
    FEDGE_RETURN_IF_ERROR(db_->Exec("DELETE FROM round_progress"));
    FEDGE_RETURN_IF_ERROR(SaveCounters(c.counters));
    FEDGE_RETURN_IF_ERROR(SaveDevicesLocked(c.devices));
    FEDGE_ASSIGN_OR_RETURN(unused, PruneModels());
    FEDGE_RETURN_IF_ERROR(txn.Commit());
  }
  RemoveModelFiles(unused);
  return absl::OkStatus();
}

absl::Status SqliteStateStore::CompleteRound(const proto::RoundRecord& record, const RunCounters& counters) {
  absl::MutexLock lock(&mu_);
  SqliteTransaction txn(db_.get());
  FEDGE_RETURN_IF_ERROR(txn.Begin());
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement update,
                         db_->Prepare("INSERT OR REPLACE INTO rounds VALUES (?, 1, 0, 0, ?)"));
  FEDGE_RETURN_IF_ERROR(update.Bind(1, static_cast<int64_t>(record.round())).BindBlob(2, record.SerializeAsString()).Run());
  FEDGE_RETURN_IF_ERROR(SaveCounters(counters));
  return txn.Commit();
}

absl::Status SqliteStateStore::SaveDeployment(const StoredDeployment& d) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT OR REPLACE INTO deployments VALUES (?, ?, ?)"));
  return insert.Bind(1, static_cast<int64_t>(d.version))
      .Bind(2, static_cast<int64_t>(d.parent_version))
      .BindBlob(3, d.artifact)
      .Run();
}

absl::StatusOr<std::optional<StoredDeployment>> SqliteStateStore::LoadDeployment(uint64_t version) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement q,
                         db_->Prepare("SELECT parent_version, artifact FROM deployments WHERE version = ?"));
  q.Bind(1, static_cast<int64_t>(version));
  FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<StoredDeployment>();
  return std::optional<StoredDeployment>(StoredDeployment{version, static_cast<uint64_t>(q.Int(0)), q.Blob(1)});
}

absl::Status SqliteStateStore::SaveRollout(const std::string& record) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement insert, db_->Prepare("INSERT OR REPLACE INTO rollout VALUES (1, ?)"));
  return insert.BindBlob(1, record).Run();
}

absl::StatusOr<StoredState> SqliteStateStore::Load() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StoredState> state = LoadLocked();
  if (!state.ok() && absl::IsDataLoss(state.status()) && !absl::StrContains(state.status().message(), "model")) {
    return Unreadable(db_path_, state.status());
  }
  return state;
}

absl::StatusOr<std::string> SqliteStateStore::KeptModelArtifact(uint64_t version) {
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("SELECT sha256 FROM models WHERE version = ?"));
  q.Bind(1, static_cast<int64_t>(version));
  FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::string();  // pruned ([state] keep_models)
  return ReadModelFile(models_dir_, q.Text(0), version);
}

absl::StatusOr<StoredState> SqliteStateStore::LoadLocked() {
  StoredState s;
  // The newest model version, verified against its hash.
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare(
        "SELECT version, sha256, strategy_state FROM models ORDER BY version DESC LIMIT 1"));
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      StoredModel model;
      model.version = static_cast<uint64_t>(q.Int(0));
      FEDGE_ASSIGN_OR_RETURN(model.artifact, ReadModelFile(models_dir_, q.Text(1), model.version));
      FEDGE_ASSIGN_OR_RETURN(model.strategy_state, DecodeFloatVectors(q.Blob(2), "strategy state"));
      s.model = std::move(model);
    }
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("SELECT key, value FROM meta"));
    for (;;) {
      FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      const std::string key = q.Text(0);
      if (key == "rounds_started") s.counters.rounds_started = static_cast<uint64_t>(q.Int(1));
      if (key == "extra_rounds") s.counters.extra_rounds = q.Int(1);
      if (key == "client_clip_norm") s.counters.client_clip_norm = q.Real(1);
      if (key == "client_dp_rounds") s.counters.client_dp_rounds = q.Int(1);
      if (key == "latest_metrics") {
        FEDGE_ASSIGN_OR_RETURN(s.counters.latest_metrics, DecodeMetrics(q.Blob(1), "latest metrics"));
      }
    }
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q,
                           db_->Prepare("SELECT complete, evaluate, deploy, record FROM rounds ORDER BY round"));
    for (;;) {
      FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      FEDGE_ASSIGN_OR_RETURN(proto::RoundRecord record,
                             ParseProto<proto::RoundRecord>(q.Blob(3), "round record", db_path_));
      if (q.Int(0) != 0) {
        s.completed.push_back(std::move(record));
      } else {
        s.pending.push_back(PendingRound{std::move(record), q.Int(1) != 0, q.Int(2) != 0, {}});
      }
    }
  }
  for (PendingRound& p : s.pending) {
    if (s.model && p.record.model_version() < s.model->version) {
      FEDGE_ASSIGN_OR_RETURN(p.model_artifact, KeptModelArtifact(p.record.model_version()));
    }
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare(
        "SELECT device_id, info, first_seen, last_seen, rounds_joined, epsilon, inference_version, drift, status, "
        "cert_sha256, updates_accepted, updates_rejected, last_rejection, last_rejection_at, training_version, "
        "report, last_report, training_metrics FROM devices ORDER BY device_id"));
    for (;;) {
      FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      StoredDevice d;
      d.device_id = q.Text(0);
      FEDGE_ASSIGN_OR_RETURN(d.info, ParseProto<proto::DeviceInfo>(q.Blob(1), "device info", db_path_));
      d.first_seen_unix_micros = q.Int(2);
      d.last_seen_unix_micros = q.Int(3);
      d.rounds_joined = q.Int(4);
      d.epsilon_spent = q.Real(5);
      d.inference_version = static_cast<uint64_t>(q.Int(6));
      FEDGE_ASSIGN_OR_RETURN(d.drift, ParseProto<proto::DeviceDrift>(q.Blob(7), "device drift", db_path_));
      const int64_t status = q.Int(8);
      if (!proto::DeviceStatus_IsValid(static_cast<int>(status)) || status == proto::DEVICE_STATUS_OFFLINE ||
          status == proto::DEVICE_STATUS_UNSPECIFIED) {
        return absl::DataLossError(absl::StrCat(db_path_, ": device '", d.device_id, "' has the unknown status ",
                                                status, "; ", kWhatToDo));
      }
      d.status = static_cast<proto::DeviceStatus>(status);
      d.certificate_sha256 = q.Text(9);
      d.updates_accepted = q.Int(10);
      d.updates_rejected = q.Int(11);
      d.last_rejection = q.Text(12);
      d.last_rejection_unix_micros = q.Int(13);
      d.training_version = static_cast<uint64_t>(q.Int(14));
      if (const std::string report = q.Blob(15); !report.empty()) {  // empty: migrated, never reported
        FEDGE_ASSIGN_OR_RETURN(d.metrics, DecodeMetrics(report, "device report"));
      }
      d.last_report_unix_micros = q.Int(16);
      if (const std::string trained = q.Blob(17); !trained.empty()) {
        FEDGE_ASSIGN_OR_RETURN(d.training_metrics, DecodeMetrics(trained, "device training metrics"));
      }
      s.devices.push_back(std::move(d));
    }
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare(
        "SELECT round, model_version, target, opened, deadline, selected, train FROM open_round"));
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      StoredOpenRound r;
      r.round = static_cast<uint64_t>(q.Int(0));
      r.model_version = static_cast<uint64_t>(q.Int(1));
      r.target = q.Int(2);
      r.opened_unix_micros = q.Int(3);
      r.deadline_unix_micros = q.Int(4);
      FEDGE_ASSIGN_OR_RETURN(r.selected, DecodeStrings(q.Blob(5), "open round's cohort"));
      FEDGE_ASSIGN_OR_RETURN(r.train, ParseProto<proto::TrainConfig>(q.Blob(6), "open round's train config", db_path_));
      s.open = std::move(r);
    }
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q,
                           db_->Prepare("SELECT round, task_id, device_id, bytes, size FROM updates ORDER BY seq"));
    for (;;) {
      FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      AckedUpdate u{static_cast<uint64_t>(q.Int(0)), q.Text(1), q.Text(2), q.Blob(3), static_cast<uint64_t>(q.Int(4))};
      if (s.open && u.round == s.open->round) {
        s.open_updates.push_back(std::move(u));
      } else {
        s.last_closed_updates.push_back(std::move(u));
      }
    }
  }
  if (s.open && progress_->round() == s.open->round) {
    FEDGE_ASSIGN_OR_RETURN(std::optional<ProgressRecord> p, progress_->ReadNewest());
    if (!p || p->round != s.open->round) {
      return absl::DataLossError(absl::StrCat("the progress of round ", s.open->round, " changed on disk"));
    }
    s.open_progress = std::move(p->progress);
    s.open_updates.insert(s.open_updates.end(), p->acked.begin(), p->acked.end());
  } else if (s.open) {
    // Written by a fedge from before the progress file (schema 3 and 4).
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("SELECT progress FROM round_progress WHERE round = ?"));
    q.Bind(1, static_cast<int64_t>(s.open->round));
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) s.open_progress = q.Blob(0);
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare(
        "SELECT version, parent_version, artifact FROM deployments ORDER BY version DESC LIMIT 1"));
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) {
      s.deployed = StoredDeployment{static_cast<uint64_t>(q.Int(0)), static_cast<uint64_t>(q.Int(1)), q.Blob(2)};
    }
  }
  {
    FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, db_->Prepare("SELECT record FROM rollout WHERE id = 1"));
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) s.rollout = q.Blob(0);
  }
  return s;
}

absl::Status BackupStateDir(const std::string& state_dir, const std::string& dest_dir) {
  const std::string src_path = (fs::path(state_dir) / "state.db").string();
  const std::string dest_path = (fs::path(dest_dir) / "state.db").string();
  std::error_code ec;
  if (!fs::exists(src_path, ec)) {
    return absl::NotFoundError(absl::StrCat(src_path, ": no state database to back up; check --state"));
  }
  if (fs::exists(dest_path, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(dest_path, " exists; give --backup a new directory"));
  }
  const std::string dest_models = (fs::path(dest_dir) / "models").string();
  fs::create_directories(dest_models, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dest_models, ": ", ec.message()));
  // The progress first: a database snapshot taken after it may have closed
  // its round (the record is then ignored) but never misses a round it holds.
  FEDGE_RETURN_IF_ERROR(ProgressFile::Copy(state_dir, dest_dir));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> src, SqliteDb::Open(src_path, /*create=*/false));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> dest, SqliteDb::Open(dest_path, /*create=*/true));
  sqlite3_backup* backup = sqlite3_backup_init(dest->handle(), "main", src->handle(), "main");
  if (backup == nullptr) return dest->Error(sqlite3_errcode(dest->handle()), "backup");
  // All pages in one step: one consistent snapshot even while the
  // coordinator writes (a WAL reader sees one transaction boundary).
  const int rc = sqlite3_backup_step(backup, -1);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return Annotate(src->Error(rc, "backup"), src_path);
  FEDGE_RETURN_IF_ERROR(dest->Exec("PRAGMA journal_mode = WAL"));
  // The model files the copy references (content-addressed: never changed).
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement q, dest->Prepare("SELECT version, sha256 FROM models"));
  const std::string src_models = (fs::path(state_dir) / "models").string();
  for (;;) {
    FEDGE_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    FEDGE_ASSIGN_OR_RETURN(std::string bytes,
                           ReadModelFile(src_models, q.Text(1), static_cast<uint64_t>(q.Int(0))));
    FEDGE_RETURN_IF_ERROR(WriteModelFile(dest_models, bytes).status());
  }
  return absl::OkStatus();
}

}  // namespace fedge
