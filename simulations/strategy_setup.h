// File: simulations/strategy_setup.h
//
// The scenario's `[strategy]` table: which aggregation strategy the
// simulated coordinator runs and its options, read by the strategy registry
// (aggregation/strategy_registry.h) exactly as fedge-coordinator reads it:
//
//   [strategy]
//   name = "trimmed_mean"     # any registered strategy; default "fedavg"
//   [strategy.trimmed_mean]   # that strategy's own options
//   trim_fraction = 0.2
//
// On top of the registry's checks, the rules that need the rest of the
// scenario: a round must be able to gather the updates the strategy needs
// (Krum: 2f + 3) and, for the strategies that hold every update, no more
// than their `max_updates`.
//
// LibTorch-free. Stateless functions; thread-safe.
#ifndef FEDGE_SIMULATIONS_STRATEGY_SETUP_H_
#define FEDGE_SIMULATIONS_STRATEGY_SETUP_H_

#include <cstdint>

#include "aggregation/strategy_registry.h"
#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

// Reads `section` into `*spec` (left unchanged when the table has problems)
// and checks it against `updates_per_round`, the number of accepted updates
// that closes a round (the selection target). Problems are recorded on
// `section` (ConfigSection::Error), never returned.
void ReadScenarioStrategy(ConfigSection section, int64_t updates_per_round, StrategySpec* spec);

// {"name": ..., <option>: <value>, ...} for summary.json and the report.
nlohmann::json StrategyToJson(const StrategySpec& spec);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_STRATEGY_SETUP_H_
