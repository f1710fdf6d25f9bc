// File: settings/gateway_settings.h
//
// The [gateway] table of the shared schema: how a site gateway
// (gateway/gateway.h) runs its site rounds. fedge-gateway reads it from its
// --config file; fedge-sim reads it from a scenario, where `sites` > 0
// puts that many simulated gateways between the devices and the
// coordinator (the two-tier topology). docs/configuration.md lists the keys.
//
// LibTorch-free. Plain data and free functions; thread-compatible.
#ifndef FEDGE_SETTINGS_GATEWAY_SETTINGS_H_
#define FEDGE_SETTINGS_GATEWAY_SETTINGS_H_

#include <cstdint>

#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

struct GatewaySettings {
  // fedge-sim only: gateways the population is split among (device k of n
  // behind gateway floor(k * sites / n)); 0: devices reach the coordinator
  // directly.
  int64_t sites = 0;
  // Site devices registered before the gateway takes a task upstream.
  int64_t min_devices = 1;
  // Fewest device updates forwarded at the site deadline.
  int64_t site_quorum = 1;
  // A site round closes this long after it opens, or forward_margin_s
  // before the coordinator's deadline, whichever is first.
  double site_deadline_s = 300;
  double forward_margin_s = 10;
};

// Reads [gateway] over `*settings` (absent keys keep their value).
void ReadGatewayTable(ConfigSection table, GatewaySettings* settings);

nlohmann::json GatewaySettingsToJson(const GatewaySettings& settings);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_GATEWAY_SETTINGS_H_
