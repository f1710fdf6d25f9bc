// File: coordinator/admin_backup.h
//
// Admin.Backup: an online copy of the running coordinator's --state
// directory (SqliteStateStore's BackupStateDir: one consistent SQLite
// snapshot plus the model files it references), written by the coordinator
// process itself, so `path` names a directory on the coordinator's host,
// not on the machine running fedgectl.
//
// Thread-safety: safe to call concurrently with the Federation writing the
// store; two backups into the same path race (one fails with kAlreadyExists).
#ifndef FEDGE_COORDINATOR_ADMIN_BACKUP_H_
#define FEDGE_COORDINATOR_ADMIN_BACKUP_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/fedge.pb.h"

namespace fedge {

// Copies `state_dir` into `path`. kFailedPrecondition when `state_dir` is
// empty (the coordinator keeps its state in memory); kInvalidArgument for a
// relative or empty path; kAlreadyExists when `path` already holds a
// state.db. The answer names the copy, the database's size and the number
// of model files copied.
absl::StatusOr<proto::BackupResponse> BackupForAdmin(const std::string& state_dir, const std::string& path);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ADMIN_BACKUP_H_
