#include "coordinator/admin_backup.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "coordinator/store/sqlite_state_store.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {

namespace fs = std::filesystem;

absl::StatusOr<proto::BackupResponse> BackupForAdmin(const std::string& state_dir, const std::string& path) {
  if (state_dir.empty()) {
    return absl::FailedPreconditionError(
        "this coordinator keeps its state in memory (no --state): there is nothing to back up");
  }
  if (path.empty() || !fs::path(path).is_absolute()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "backup path '", path, "' must be absolute: it is a directory on the coordinator's host, written by the "
        "coordinator"));
  }
  const fs::path dest = fs::path(path).lexically_normal();
  FEDGE_LOG(INFO) << "backing up " << state_dir << " to " << dest.string() << " (Admin.Backup)";
  FEDGE_RETURN_IF_ERROR(BackupStateDir(state_dir, dest.string()));
  proto::BackupResponse response;
  response.set_path(dest.string());
  std::error_code ec;
  const uintmax_t bytes = fs::file_size(dest / "state.db", ec);
  if (!ec) response.set_database_bytes(bytes);
  uint32_t files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dest / "models", ec)) {
    files += entry.is_regular_file();
  }
  response.set_model_files(files);
  return response;
}

}  // namespace fedge
