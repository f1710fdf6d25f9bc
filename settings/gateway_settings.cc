#include "settings/gateway_settings.h"

#include "absl/strings/str_cat.h"

namespace fedge {

void ReadGatewayTable(ConfigSection t, GatewaySettings* g) {
  t.Read("sites", &g->sites, 0, 1'000'000);
  t.Read("min_devices", &g->min_devices, 1, 1'000'000);
  t.Read("site_quorum", &g->site_quorum, 1, 1'000'000);
  t.Read("site_deadline_s", &g->site_deadline_s, 1e-3, 1e7);
  t.Read("forward_margin_s", &g->forward_margin_s, 0, 1e7);
  if (g->site_quorum > g->min_devices) {
    t.Error(absl::StrCat("'site_quorum' = ", g->site_quorum, " is above 'min_devices' = ", g->min_devices,
                         ": a site round could open with too few devices ever to forward"));
  }
}

nlohmann::json GatewaySettingsToJson(const GatewaySettings& g) {
  return {{"sites", g.sites},
          {"min_devices", g.min_devices},
          {"site_quorum", g.site_quorum},
          {"site_deadline_s", g.site_deadline_s},
          {"forward_margin_s", g.forward_margin_s}};
}

}  // namespace fedge
