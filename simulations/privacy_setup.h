// File: simulations/privacy_setup.h
//
// The privacy tables of a scenario and how they are read:
//
//   [dp]                   sample-level DP-SGD on every device
//   enabled = true         (default true when the table is present)
//   noise_multiplier = 1.1 σ of DP-SGD, > 0 (required)
//   clip_norm = 1.0        per-example L2 clip, > 0 (required)
//   device_epsilon = 4     lifetime budget of each device at `delta`;
//                          0 (default) = measured but not enforced
//   delta = 1e-5
//
//   [client_dp]            client-level DP-FedAvg at the coordinator
//   enabled = true         (default true when the table is present)
//   clip_norm = 1.0, noise_multiplier = 1.0 (both > 0),
//   adaptive = false, target_quantile = 0.5, clip_learning_rate = 0.2,
//   count_noise (required, > noise_multiplier / 2, when adaptive),
//   delta = 1e-5
//
// `[dp]` becomes the tasks' TrainConfig dp_noise_multiplier / dp_clip_norm
// and a PrivacyLedger per device; `[client_dp]` becomes
// FederationOptions::client_dp (simulations/privacy_runtime.h does both).
// A variant turns a base table off with `dp.enabled = false`.
//
// LibTorch-free. Plain data; thread-compatible.
#ifndef FEDGE_SIMULATIONS_PRIVACY_SETUP_H_
#define FEDGE_SIMULATIONS_PRIVACY_SETUP_H_

#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

struct Scenario;  // simulations/scenario.h

// [dp]: sample-level DP-SGD on the devices.
struct DpSettings {
  bool enabled = false;
  double noise_multiplier = 0;
  double clip_norm = 0;
  // Lifetime ε budget per device at `delta`; 0 = no enforcement.
  double device_epsilon = 0;
  double delta = 1e-5;
};

// [client_dp]: client-level DP (DP-FedAvg) at the coordinator; the fields
// mirror privacy/client_dp.h's ClientDpOptions.
struct ClientDpSettings {
  bool enabled = false;
  double clip_norm = 1.0;
  double noise_multiplier = 1.0;
  bool adaptive = false;
  double target_quantile = 0.5;
  double clip_learning_rate = 0.2;
  double count_noise = 0;
  double delta = 1e-5;
};

// Reads [dp] and [client_dp] of `root` into `scenario` and records every
// problem on the section (missing or out-of-range values, adaptive clipping
// without a valid count_noise, DP-SGD with an optimizer other than sgd).
// Must run after the [training] table has been read.
void ReadPrivacyTables(ConfigSection root, Scenario& scenario);

// {"dp": {...}, "client_dp": {...}} entries for ScenarioToJson, each only
// when enabled.
void PrivacyToJson(const Scenario& scenario, nlohmann::json& out);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_PRIVACY_SETUP_H_
