// File: coordinator/store/run_config.h
//
// The state settings (`[state]` table, `--state`, `--new-run`, `--backup`)
// and the check that a resumed run is the stored one. A run's meaning is
// fixed by its RunConfig (model, strategy and its options, codec, DP and
// update bounds...): resuming it under another one would mix two
// experiments in one model, so it is refused naming every key that
// differs, unless the operator asks for a new run.
//
// Thread-safety: plain data and free functions.
#ifndef FEDGE_COORDINATOR_STORE_RUN_CONFIG_H_
#define FEDGE_COORDINATOR_STORE_RUN_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "coordinator/store/state_store.h"
#include "core/config.h"

namespace fedge {

struct StateOptions {
  // State directory (SqliteStateStore); empty keeps everything in memory.
  std::string dir;
  // A resumed open round's deadline is re-armed to at least now + this, so
  // devices have time to reconnect.
  double resume_grace_s = 60;
  // Global model versions kept on disk (newest first); >= 1.
  int64_t keep_models = 5;
  // "full": every acknowledgement is fsynced (survives power loss).
  // "process": it survives the coordinator being killed, not the machine
  // crashing (SqliteStateStoreOptions::sync_every_commit = false).
  std::string durability = "full";
  // Forget the stored run and start a new one in `dir` (flag only).
  bool new_run = false;
};

// Reads the `[state]` table: dir, resume_grace_s, keep_models, durability. Problems are
// recorded on `section` (reported by ConfigFile::Finish).
void ReadStateTable(ConfigSection section, StateOptions* options);

// OK when `current` equals `stored`; otherwise kFailedPrecondition naming
// each differing key with both values, the database file and the way out
// (--new-run).
absl::Status CheckRunConfig(const RunConfig& stored, const RunConfig& current, const std::string& db_path);

// Makes `store` hold the run described by `config`: a store without a run
// starts one; a store with the same run resumes it; with `new_run` the
// stored run is discarded and a new one started. Otherwise the
// CheckRunConfig error (`where` names the database).
absl::Status PrepareRun(StateStore& store, const RunConfig& config, bool new_run, const std::string& where);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_RUN_CONFIG_H_
