#include "simulations/privacy_setup.h"

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "simulations/scenario.h"

namespace fedge {
namespace {

// Reads a key that must be present when its table is enabled.
void ReadRequired(ConfigSection& s, std::string_view key, double* out, double lo, double hi, std::string_view why) {
  if (!s.Has(key)) {
    s.Error(absl::StrCat("'", AsAbsl(key), "' is required: ", AsAbsl(why)));
    return;
  }
  s.Read(key, out, lo, hi);
}

void ReadDp(ConfigSection root, Scenario& sc) {
  if (!root.Has("dp")) return;
  ConfigSection s = root.Section("dp");
  DpSettings& dp = sc.dp;
  dp.enabled = true;
  s.Read("enabled", &dp.enabled);
  // Read every key even when disabled, so a variant may switch DP off
  // without its remaining keys being reported as unknown.
  const bool enabled = dp.enabled;
  if (enabled) {
    ReadRequired(s, "noise_multiplier", &dp.noise_multiplier, 1e-3, 1e4,
                 "the DP-SGD noise multiplier sigma (pick it with `fedge-dp noise`)");
    ReadRequired(s, "clip_norm", &dp.clip_norm, 1e-9, 1e9, "the per-example L2 clipping norm");
  } else {
    s.Read("noise_multiplier", &dp.noise_multiplier, 0, 1e4);
    s.Read("clip_norm", &dp.clip_norm, 0, 1e9);
  }
  s.Read("device_epsilon", &dp.device_epsilon, 0, 1e9);
  s.Read("delta", &dp.delta, 1e-300, 0.999999);
  if (enabled && sc.training.optimizer != "sgd") {
    s.Error(absl::StrCat("DP-SGD trains with the sgd optimizer; training.optimizer is \"", sc.training.optimizer,
                         "\""));
  }
}

void ReadClientDp(ConfigSection root, Scenario& sc) {
  if (!root.Has("client_dp")) return;
  ConfigSection s = root.Section("client_dp");
  ClientDpSettings& c = sc.client_dp;
  c.enabled = true;
  s.Read("enabled", &c.enabled);
  s.Read("clip_norm", &c.clip_norm, 1e-9, 1e9);
  s.Read("noise_multiplier", &c.noise_multiplier, 1e-3, 1e4);
  s.Read("adaptive", &c.adaptive);
  s.Read("target_quantile", &c.target_quantile, 0, 1);
  s.Read("clip_learning_rate", &c.clip_learning_rate, 1e-9, 100);
  s.Read("count_noise", &c.count_noise, 0, 1e9);
  s.Read("delta", &c.delta, 1e-300, 0.999999);
  if (c.enabled && c.adaptive && !(c.count_noise > c.noise_multiplier / 2)) {
    s.Error(absl::StrCat("adaptive clipping needs 'count_noise' > noise_multiplier / 2 = ", c.noise_multiplier / 2,
                         " (the paper suggests expected devices per round / 20)"));
  }
}

}  // namespace

void ReadPrivacyTables(ConfigSection root, Scenario& scenario) {
  ReadDp(root, scenario);
  ReadClientDp(root, scenario);
}

void PrivacyToJson(const Scenario& s, nlohmann::json& out) {
  if (s.dp.enabled) {
    out["dp"] = {{"noise_multiplier", s.dp.noise_multiplier},
                 {"clip_norm", s.dp.clip_norm},
                 {"device_epsilon", s.dp.device_epsilon},
                 {"delta", s.dp.delta}};
  }
  if (s.client_dp.enabled) {
    const ClientDpSettings& c = s.client_dp;
    out["client_dp"] = {{"clip_norm", c.clip_norm},       {"noise_multiplier", c.noise_multiplier},
                        {"adaptive", c.adaptive},         {"target_quantile", c.target_quantile},
                        {"clip_learning_rate", c.clip_learning_rate}, {"count_noise", c.count_noise},
                        {"delta", c.delta}};
  }
}

}  // namespace fedge
