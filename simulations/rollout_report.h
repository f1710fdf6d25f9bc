// File: simulations/rollout_report.h
//
// The staged-rollout part of a run's report (simulations/report.h), from the
// rollout columns of `RoundRow`: per round, how many devices serve the
// rolled-out deployed version, the one before it and any other, and the
// rounds in which a rollout advanced, completed or aborted. All return empty
// results for a run without a rollout ([rollout] off or nothing deployed).
//
// LibTorch-free. Stateless; thread-safe.
#ifndef FEDGE_SIMULATIONS_ROLLOUT_REPORT_H_
#define FEDGE_SIMULATIONS_ROLLOUT_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "simulations/report.h"

namespace fedge {

// summary.json's "rollout_events": [{round, version, stage, event}] with
// event "advanced", "completed" or "aborted"; empty array without any.
nlohmann::json RolloutEvents(const std::vector<RoundRow>& rows);

// The report page's section: a chart of devices per served version with
// the events as markers, and the events' table.
std::string RolloutHtml(const std::vector<RoundRow>& rows);

// One terminal line per event; empty without any.
std::string RolloutTerminalLines(const std::vector<RoundRow>& rows);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_ROLLOUT_REPORT_H_
