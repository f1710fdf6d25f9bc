// File: simulations/strategy_setup.h
//
// The scenario's `[strategy]` table: which aggregation strategy the
// simulated coordinator runs (aggregation/strategy_factory.h) and its
// options, e.g.
//
//   [strategy]
//   name = "trimmed_mean"     # any of KnownStrategyNames(); default "fedavg"
//   trim_fraction = 0.2
//
// Keys mirror `StrategyOptions` field for field: server_learning_rate,
// proximal_mu, beta1, beta2, tau, server_momentum, trim_fraction,
// num_byzantine, num_selected, max_updates. Values are checked by the
// factory itself (so the scenario accepts exactly what CreateStrategy
// accepts), plus the rules that need the rest of the scenario: a round must
// be able to gather the updates the strategy needs (Krum: 2f + 3) and, for
// the strategies that hold every update, no more than `max_updates`.
//
// LibTorch-free. Stateless functions; thread-safe.
#ifndef FEDGE_SIMULATIONS_STRATEGY_SETUP_H_
#define FEDGE_SIMULATIONS_STRATEGY_SETUP_H_

#include <cstdint>

#include "aggregation/strategy_factory.h"
#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

// Reads the keys present in `section` into `*options` (absent keys keep
// their current value, so the same call applies an override) and validates
// the result with CreateStrategy. `updates_per_round` is the number of
// accepted updates that closes a round (the selection target). Problems are
// recorded on `section` (ConfigSection::Error), never returned.
void ReadStrategyTable(ConfigSection section, int64_t updates_per_round, StrategyOptions* options);

// The options as a JSON object keyed like the TOML table (for
// summary.json and the report). An unset server_learning_rate is null.
nlohmann::json StrategyToJson(const StrategyOptions& options);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_STRATEGY_SETUP_H_
