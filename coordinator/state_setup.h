// File: coordinator/state_setup.h
//
// How fedge-coordinator turns its configuration into a durable state store
// (coordinator/store/README.md): the RunConfig fingerprint of the settings
// that give a run its meaning, and opening `[state] dir` / `--state` with
// the resume-or-refuse check (`--new-run` to start over).
//
// Thread-safety: free functions; call at start-up.
#ifndef FEDGE_COORDINATOR_STATE_SETUP_H_
#define FEDGE_COORDINATOR_STATE_SETUP_H_

#include <memory>

#include "absl/status/statusor.h"
#include "coordinator/coordinator_config.h"
#include "coordinator/store/sqlite_state_store.h"

namespace fedge {

// The settings a resumed run must keep: model (name, seed, model_id), the
// strategy and every option, the codec, DP-SGD and client-level clipping,
// and the update bounds acknowledged updates were validated with.
RunConfig CoordinatorRunConfig(const CoordinatorConfig& config);

// Opens config.state.dir and prepares its run (PrepareRun). REQUIRES:
// config.state.dir is set.
absl::StatusOr<std::unique_ptr<SqliteStateStore>> OpenCoordinatorState(const CoordinatorConfig& config);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STATE_SETUP_H_
