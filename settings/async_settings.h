// File: settings/async_settings.h
//
// The [async] table of the shared schema (settings/federation_settings.h):
// how a federation with [federation] mode = "async" aggregates. There are no
// rounds: any eligible device that polls is given a task on the current
// global version, and every `buffer_size` accepted updates the strategy
// takes one server step (FedBuff). An update's staleness s is the number of
// server steps since its task was issued; it is weighted by
// (1 + s)^-staleness_exponent and refused when s > max_staleness.
// coordinator/README.md ("Asynchronous mode") describes the behaviour;
// docs/configuration.md lists the keys.
//
// LibTorch-free. Plain data and free functions; thread-compatible.
#ifndef FEDGE_SETTINGS_ASYNC_SETTINGS_H_
#define FEDGE_SETTINGS_ASYNC_SETTINGS_H_

#include <cstdint>

#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

struct AsyncSettings {
  // K: accepted updates per server step.
  int64_t buffer_size = 10;
  // a in the staleness weight (1 + s)^-a; 0 weighs every update alike.
  double staleness_exponent = 0.5;
  // Updates more than this many server steps stale are refused.
  int64_t max_staleness = 10;
  // Tasks outstanding at once (devices training); 0: no limit.
  int64_t max_concurrent = 100;
};

// Reads [async] over `*settings` (absent keys keep their value). With
// `async_mode` false the table is still read, so a variant can switch modes,
// and nothing else is checked.
void ReadAsyncTable(ConfigSection table, bool async_mode, AsyncSettings* settings);

nlohmann::json AsyncSettingsToJson(const AsyncSettings& settings);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_ASYNC_SETTINGS_H_
