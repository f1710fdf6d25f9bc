// File: coordinator/store/schema.h
//
// The state database's schema and its forward migrations. The table
// `schema_version` holds one row with the version the file was written
// with; `MigrateSchema` runs every migration after it, each in its own
// transaction, at start-up. A file written by a newer fedge (a version above
// kSchemaVersion) is refused rather than guessed at.
//
// History:
//   1  run_config, meta, models, rounds, devices (id, info, first/last seen,
//      rounds joined, epsilon), open_round, updates, deployments
//   2  devices gain inference_version (the deployed model each serves) and
//      drift (its drift state)
//   3  updates gain size (bytes may be empty); round_progress holds the
//      open round's checkpointed aggregate
//   4  the fleet registry: devices gain status (pending/active/revoked),
//      cert_sha256, updates_accepted (from rounds_joined), updates_rejected,
//      last_rejection(_at), training_version, report (metrics),
//      last_report and training_metrics; an index on status
//   5  enrolment (enrolment_store.h): enrol_tokens (token SHA-256, expiry,
//      use) and enrolments (per device: CSR, state, certificate, serial)
//   6  rollout: the staged rollout's record (one row)
//
// Thread-safety: call from the thread that owns the SqliteDb.
#ifndef FEDGE_COORDINATOR_STORE_SCHEMA_H_
#define FEDGE_COORDINATOR_STORE_SCHEMA_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/sqlite_db.h"

namespace fedge {

inline constexpr int kSchemaVersion = 6;

// 0 for an empty database (no schema_version table yet).
absl::StatusOr<int> ReadSchemaVersion(SqliteDb& db);

// Brings the database to `target` (<= kSchemaVersion; tests use older
// targets to write a previous version). kFailedPrecondition when the file
// is newer than this build, naming the file and what to do.
absl::Status MigrateSchema(SqliteDb& db, int target = kSchemaVersion);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_SCHEMA_H_
