// File: coordinator/store/sqlite_state_store.h
//
// The default StateStore: one embedded SQLite database `<dir>/state.db`,
// content-addressed global model files in `<dir>/models/` (model_files.h)
// and the open round's progress in `<dir>/progress.{0,1}` (progress_file.h). The database runs in WAL mode with synchronous=FULL by
// default, so every committed transaction is on disk when the call returns
// (see `sync_every_commit` for the faster, process-crash-only mode); each write
// of the interface is one transaction; statements are prepared once and
// cached. One process writes a state directory at a time: `<dir>/lock` is
// held with flock() for the store's lifetime (a second coordinator on the
// same directory is refused). The schema is migrated forward at open
// (schema.h).
//
// Start-up refuses bad state with a message naming the file and what to do:
// a file that is not a SQLite database or fails `PRAGMA quick_check`
// (corrupt, truncated), a schema newer than this build, a model file whose
// SHA-256 differs from the recorded one.
//
// Thread-safety: all methods are safe to call concurrently (one mutex).
#ifndef FEDGE_COORDINATOR_STORE_SQLITE_STATE_STORE_H_
#define FEDGE_COORDINATOR_STORE_SQLITE_STATE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/store/enrolment_store.h"
#include "coordinator/store/progress_file.h"
#include "coordinator/store/sqlite_db.h"
#include "coordinator/store/state_store.h"

namespace fedge {

struct SqliteStateStoreOptions {
  // The state directory; created when missing.
  std::string dir;
  // Global model versions whose files are kept (the newest N); >= 1.
  int64_t keep_models = 5;
  // true: every transaction is fsynced before it returns (synchronous =
  // FULL): an acknowledged update survives a power loss. false
  // (synchronous = NORMAL): commits reach the OS at once and survive the
  // process being killed, but the last ones may be lost if the machine
  // itself crashes; much higher acknowledgement throughput.
  bool sync_every_commit = true;
  // Test hook: PRAGMA max_page_count, so a test can make the database
  // "full" (SQLITE_FULL) without filling a disk. 0: no limit.
  int64_t max_pages = 0;
  // Test hook: ProgressFile::Options::max_slot_bytes. 0: no limit.
  uint64_t max_progress_bytes = 0;
};

// Also the EnrolmentStore (its methods are in sqlite_enrolments.cc).
class SqliteStateStore final : public StateStore, public EnrolmentStore {
 public:
  // Opens or creates the store. Errors name the file and what to do:
  // kUnavailable (locked by another process, cannot create the directory),
  // kDataLoss (corrupt or truncated database), kFailedPrecondition (schema
  // newer than this build).
  static absl::StatusOr<std::unique_ptr<SqliteStateStore>> Open(const SqliteStateStoreOptions& options);
  ~SqliteStateStore() override;

  absl::StatusOr<std::optional<RunConfig>> ReadRunConfig() override;
  absl::Status StartRun(const RunConfig& config) override;
  absl::StatusOr<StoredState> Load() override;
  absl::Status SaveInitialModel(const StoredModel& model) override;
  absl::Status SaveDevices(const std::vector<StoredDevice>& devices) override;
  absl::Status OpenRound(const StoredOpenRound& round, const RunCounters& counters) override;
  absl::Status AppendUpdates(const AckBatch& batch) override;
  absl::Status CloseRound(const RoundClosure& closure) override;
  absl::Status CompleteRound(const proto::RoundRecord& record, const RunCounters& counters) override;
  absl::Status SaveDeployment(const StoredDeployment& deployment) override;
  absl::StatusOr<std::optional<StoredDeployment>> LoadDeployment(uint64_t version) override;
  absl::Status SaveRollout(const std::string& record) override;

  // EnrolmentStore
  absl::Status AddTokens(const std::vector<StoredToken>& tokens, int64_t now_unix_micros) override;
  absl::Status ConsumeToken(const StoredEnrolment& enrolment, int64_t now_unix_micros) override;
  absl::StatusOr<std::optional<StoredEnrolment>> FindEnrolment(std::string_view device_id) override;
  absl::Status UpdateEnrolment(const StoredEnrolment& enrolment) override;
  absl::StatusOr<std::vector<StoredEnrolment>> ListEnrolments(EnrolmentState state) override;

  const std::string& db_path() const { return db_path_; }
  const std::string& models_dir() const { return models_dir_; }

 private:
  SqliteStateStore(SqliteStateStoreOptions options, std::string db_path, std::string models_dir, int lock_fd,
                   std::unique_ptr<SqliteDb> db, std::unique_ptr<ProgressFile> progress);
  absl::Status InsertModel(const StoredModel& model) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveCounters(const RunCounters& counters) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InsertUpdates(const std::vector<AckedUpdate>& updates) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveDevicesLocked(const std::vector<StoredDevice>& devices) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops model versions beyond keep_models; returns the hashes no longer used.
  absl::StatusOr<std::vector<std::string>> PruneModels() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveModelFiles(const std::vector<std::string>& hashes);
  absl::StatusOr<StoredState> LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stored artifact of model `version`; empty when it was pruned.
  absl::StatusOr<std::string> KeptModelArtifact(uint64_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const SqliteStateStoreOptions options_;
  const std::string db_path_;
  const std::string models_dir_;
  const int lock_fd_;
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ProgressFile> progress_ ABSL_GUARDED_BY(mu_);
};

// Copies a state directory that may be in use by a running coordinator:
// the open round's progress, then the database through SQLite's online
// backup API (a consistent snapshot) and the model files it references, into `dest_dir` (created; must not
// hold a state.db yet). The copy is a state directory `--state` accepts.
absl::Status BackupStateDir(const std::string& state_dir, const std::string& dest_dir);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_SQLITE_STATE_STORE_H_
