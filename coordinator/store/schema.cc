#include "coordinator/store/schema.h"

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

// kMigrations[i] takes the schema from version i to version i + 1.
constexpr const char* kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (0);
CREATE TABLE run_config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE models (
  version INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  strategy_state BLOB NOT NULL);
CREATE TABLE rounds (
  round INTEGER PRIMARY KEY,
  complete INTEGER NOT NULL,
  evaluate INTEGER NOT NULL,
  deploy INTEGER NOT NULL,
  record BLOB NOT NULL);
CREATE TABLE devices (
  device_id TEXT PRIMARY KEY,
  info BLOB NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  rounds_joined INTEGER NOT NULL,
  epsilon REAL NOT NULL);
CREATE TABLE open_round (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  round INTEGER NOT NULL,
  model_version INTEGER NOT NULL,
  target INTEGER NOT NULL,
  opened INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  selected BLOB NOT NULL,
  train BLOB NOT NULL);
CREATE TABLE updates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  round INTEGER NOT NULL,
  task_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  bytes BLOB NOT NULL,
  UNIQUE (round, task_id));
CREATE TABLE deployments (
  version INTEGER PRIMARY KEY,
  parent_version INTEGER NOT NULL,
  artifact BLOB NOT NULL);
)sql",
    // 1 -> 2
    R"sql(
ALTER TABLE devices ADD COLUMN inference_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN drift BLOB NOT NULL DEFAULT x'';
)sql",
    // 2 -> 3: the updates table gains size and loses AUTOINCREMENT (its
    // sqlite_sequence row was one more page written per batch; the rowid
    // still grows, since the newest row is never deleted before the round
    // closes).
    R"sql(
CREATE TABLE updates_v3 (
  seq INTEGER PRIMARY KEY,
  round INTEGER NOT NULL,
  task_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  bytes BLOB NOT NULL,
  size INTEGER NOT NULL,
  UNIQUE (round, task_id));
INSERT INTO updates_v3 SELECT seq, round, task_id, device_id, bytes, length(bytes) FROM updates;
DROP TABLE updates;
ALTER TABLE updates_v3 RENAME TO updates;
CREATE TABLE round_progress (round INTEGER PRIMARY KEY, progress BLOB NOT NULL);
)sql",
    // 3 -> 4: the fleet registry (status 2 = proto DEVICE_STATUS_ACTIVE)
    R"sql(
ALTER TABLE devices ADD COLUMN status INTEGER NOT NULL DEFAULT 2;
ALTER TABLE devices ADD COLUMN cert_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN updates_accepted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN updates_rejected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN last_rejection TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_rejection_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN training_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN report BLOB NOT NULL DEFAULT x'';
ALTER TABLE devices ADD COLUMN last_report INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN training_metrics BLOB NOT NULL DEFAULT x'';
UPDATE devices SET updates_accepted = rounds_joined;
CREATE INDEX devices_by_status ON devices (status);
)sql",
    // 4 -> 5: enrolment (enrolment_store.h); states 1 pending, 2 issued,
    // 3 revoked. Self-contained: it only adds tables.
    R"sql(
CREATE TABLE enrol_tokens (
  sha256 TEXT PRIMARY KEY,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  device_id TEXT NOT NULL DEFAULT '');
CREATE TABLE enrolments (
  device_id TEXT PRIMARY KEY,
  token_sha256 TEXT NOT NULL,
  public_key_sha256 TEXT NOT NULL,
  csr TEXT NOT NULL,
  state INTEGER NOT NULL,
  certificate TEXT NOT NULL,
  serial TEXT NOT NULL,
  requested INTEGER NOT NULL,
  revoked INTEGER NOT NULL);
CREATE INDEX enrolments_by_state ON enrolments (state);
)sql",
    // 5 -> 6: the staged rollout of the deployed model (coordinator/rollout.h)
    R"sql(
CREATE TABLE rollout (id INTEGER PRIMARY KEY CHECK (id = 1), record BLOB NOT NULL);
)sql",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

absl::StatusOr<int> ReadSchemaVersion(SqliteDb& db) {
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement exists,
                         db.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                                    "'schema_version'"));
  FEDGE_ASSIGN_OR_RETURN(bool row, exists.Step());
  if (!row || exists.Int(0) == 0) return 0;
  FEDGE_ASSIGN_OR_RETURN(SqliteStatement version, db.Prepare("SELECT version FROM schema_version"));
  FEDGE_ASSIGN_OR_RETURN(row, version.Step());
  if (!row) return absl::DataLossError(absl::StrCat(db.path(), ": the schema_version table is empty"));
  return static_cast<int>(version.Int(0));
}

absl::Status MigrateSchema(SqliteDb& db, int target) {
  FEDGE_ASSIGN_OR_RETURN(int version, ReadSchemaVersion(db));
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        db.path(), " was written by a newer fedge (schema version ", version, "; this build reads up to ",
        kSchemaVersion, "): run a fedge-coordinator at least as new as the one that wrote it, or give another "
                        "--state directory"));
  }
  for (; version < target; ++version) {
    SqliteTransaction txn(&db);
    FEDGE_RETURN_IF_ERROR(txn.Begin());
    FEDGE_RETURN_IF_ERROR(db.Exec(kMigrations[version]));
    FEDGE_RETURN_IF_ERROR(db.Exec(absl::StrCat("UPDATE schema_version SET version = ", version + 1)));
    FEDGE_RETURN_IF_ERROR(txn.Commit());
  }
  return absl::OkStatus();
}

}  // namespace fedge
