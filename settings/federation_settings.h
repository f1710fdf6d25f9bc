// File: settings/federation_settings.h
//
// The one configuration schema of a federation, read identically by
// `fedge-sim` (a scenario is these settings plus the simulation's own
// tables), `fedge-coordinator` (these settings plus [server] and
// [evaluation]) and, for the keys a device owns, `fedge-device`. Same
// tables, same keys, same defaults, same ranges, same messages: a scenario
// tuned in the simulator is deployed by giving the same file to
// `fedge-coordinator --config`. docs/configuration.md lists every key.
//
//   name = "fedge"   seed = 1
//   [model]       name, input_features, num_classes (mlp_tabular)
//   [federation]  rounds, min_devices, devices_per_round | fraction,
//                 over_selection, min_quorum, round_deadline_s,
//                 poll_interval_ms, evaluate_every, download_chunk_bytes,
//                 max_update_norm, max_examples, favour_drifting,
//                 extra_round_drift_fraction, max_extra_rounds, mode
//   [async]       buffer_size, staleness_exponent, max_staleness,
//                 max_concurrent (settings/async_settings.h)
//   [training]    local_epochs, batch_size, learning_rate, momentum,
//                 weight_decay, optimizer, codec, max_examples,
//                 update_clip_norm
//   [strategy]    name + [strategy.<name>] (aggregation/strategy_registry.h)
//   [dp]          enabled, noise_multiplier, clip_norm, device_epsilon, delta
//   [client_dp]   enabled, clip_norm, noise_multiplier, adaptive,
//                 target_quantile, clip_learning_rate, count_noise,
//                 sampling_rate, delta
//   [deploy]      every_rounds, student, temperature, epochs, batch_size,
//                 learning_rate, proxy_data, proxy_examples, prune_fraction,
//                 warm_start, threads, test_degrade_from_version (tests only)
//   [secagg]      enabled, neighbours, threshold, stage_timeout_s,
//                 coordinate_range (settings/secagg_settings.h)
//   [rollout]     enabled, fractions, min_devices, soak_s, max_failure_share,
//                 min_accuracy, max_inference_error_share, max_drift_increase
//
// Keys of earlier schemas are refused with the key that replaced them
// (settings/renamed_keys.h).
//
// LibTorch-free. Plain data and free functions; thread-compatible.
#ifndef FEDGE_SETTINGS_FEDERATION_SETTINGS_H_
#define FEDGE_SETTINGS_FEDERATION_SETTINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "aggregation/strategy_registry.h"
#include "core/config.h"
#include "core/idx.h"
#include "core/model_shape.h"
#include "nlohmann/json.hpp"
#include "settings/async_settings.h"
#include "settings/secagg_settings.h"

namespace fedge {

// [dp]: sample-level DP-SGD on every device. `noise_multiplier` and
// `clip_norm` travel in each task; `device_epsilon` too, as the lifetime
// budget every device's ledger enforces (a device may be stricter).
// `delta` is the δ devices account at.
struct DpSettings {
  bool enabled = false;  // true when the table is present, unless it says otherwise
  double noise_multiplier = 0;
  double clip_norm = 0;
  // Lifetime ε budget per device at `delta`; 0 = measured, not enforced.
  double device_epsilon = 0;
  double delta = 1e-5;
};

// [client_dp]: client-level DP (DP-FedAvg) at the coordinator; mirrors
// privacy/client_dp.h's ClientDpOptions.
struct ClientDpSettings {
  bool enabled = false;  // true when the table is present, unless it says otherwise
  double clip_norm = 1.0;
  double noise_multiplier = 1.0;
  bool adaptive = false;
  double target_quantile = 0.5;
  double clip_learning_rate = 0.2;
  double count_noise = 0;
  // Expected fraction of the population selected per round, for the
  // accountant. 0 derives it (DeviceSamplingRate).
  double sampling_rate = 0;
  double delta = 1e-5;
};

// [deploy]: every `every_rounds` rounds the global model is distilled into
// `student` on the last `proxy_examples` training images of `proxy_data`,
// optionally pruned, quantised to int8, signed and served to devices
// (compression/model/distilling_deployer.h).
struct DeploySettings {
  int64_t every_rounds = 0;  // 0: never
  std::string student = "cnn_student";
  double temperature = 2.0;
  int epochs = 3;
  int64_t batch_size = 64;
  double learning_rate = 2e-3;  // Adam
  std::string proxy_data = kDefaultFashionMnistDir;
  int64_t proxy_examples = 10000;
  double prune_fraction = 0;
  bool warm_start = true;
  int threads = 0;  // LibTorch intra-op threads while deploying; 0: the run's default
  // TEST-ONLY: from this deployed version on, zero the model's weights after
  // building it (coordinator/degrading_deployer.h); 0: never.
  int64_t test_degrade_from_version = 0;

  bool enabled() const { return every_rounds > 0; }
};

// [rollout]: each deployed model reaches the fleet in stages
// (coordinator/rollout.h). The per-stage arrays have one entry per stage
// (or a one-entry array for every stage).
struct RolloutSettings {
  bool enabled = false;  // true when the table is present, unless it says otherwise
  std::vector<double> fractions = {0.01, 0.10, 0.50, 1.0};
  std::vector<double> min_devices = {1, 10, 50, 0};
  std::vector<double> soak_s = {1800, 3600, 3600, 0};
  double max_failure_share = 0.2;
  double min_accuracy = 0;  // 0: reported accuracy is not a rule
  double max_inference_error_share = 0.05;
  double max_drift_increase = 0.25;
};

struct FederationSettings {
  // Names the federation: the model family in artifacts and tasks, and the
  // simulator's report folder. A file name (no '/').
  std::string name = "fedge";
  // Seeds the initial weights and device selection (SeedFor), and in the
  // simulator everything else random.
  uint64_t seed = 1;

  struct Model {
    std::string name = "cnn_small";  // zoo architecture (models/zoo.h)
    // model.input_features and model.num_classes: what mlp_tabular is built
    // for (the image models take 784 and 10). The coordinator and the
    // devices read the same keys, so they build the same layout.
    ModelShape shape = {};
  } model;

  struct Federation {
    int64_t rounds = 10;  // 0: until stopped (fedge-coordinator only)
    int64_t min_devices = 1;
    int64_t devices_per_round = 10;
    double fraction = 0;  // > 0: target = ceil(fraction * eligible devices)
    double over_selection = 1.3;
    int64_t min_quorum = 1;
    double round_deadline_s = 600;
    int64_t poll_interval_ms = 1000;
    int64_t evaluate_every = 1;  // 0: never
    int64_t download_chunk_bytes = 1 << 20;
    double max_update_norm = 1000;  // 0: off
    int64_t max_examples = 100000;  // 0: off
    // Drift response (coordinator/federation.h).
    bool favour_drifting = true;
    double extra_round_drift_fraction = 0;
    int64_t max_extra_rounds = 0;
    // "sync": rounds; "async": buffered asynchronous aggregation ([async]),
    // where `rounds` counts server steps.
    std::string mode = "sync";
  } federation;

  struct Training {
    int local_epochs = 1;
    int batch_size = 32;
    double learning_rate = 0.05;
    double momentum = 0;
    double weight_decay = 0;
    std::string optimizer = "sgd";  // "sgd" or "adam"
    std::string codec = "fp32";     // update codec pipeline (compression/codec_spec.h)
    int64_t max_examples = 0;       // examples per task; 0: all
    double update_clip_norm = 0;    // device-side clip of the whole update; 0: off
  } training;

  StrategySpec strategy = DefaultStrategySpec();
  DpSettings dp;
  ClientDpSettings client_dp;
  DeploySettings deploy;
  RolloutSettings rollout;
  AsyncSettings async;
  SecAggSettings secagg;  // settings/secagg_settings.h

  bool async_mode() const { return federation.mode == "async"; }
};

// What reading checks beyond the file itself.
struct SettingsChecks {
  // Allowed model and student names; empty accepts any non-empty name.
  std::vector<std::string> known_models;
  // Devices in the federation when known (the simulator's population); 0
  // when not (fedge-coordinator), then `federation.min_devices` stands in.
  int64_t population = 0;
};

// Reads the schema's keys of `root` over `*settings` (absent keys keep their
// value) and records every problem on the sections: type, range, allowed
// value, cross-field rules (devices_per_round or fraction, DP-SGD needs
// sgd, the strategy's minimum updates, deploy.every_rounds <= rounds, ...)
// and keys of earlier schemas. Leaves other tables to the caller.
void ReadFederationSettings(ConfigSection root, const SettingsChecks& checks, FederationSettings* settings);

// The device's own keys of the shared tables: [model] name,
// input_features, num_classes and [dp] device_epsilon, delta. Same ranges
// and messages as above.
void ReadModelTable(ConfigSection model, const SettingsChecks& checks, FederationSettings::Model* settings);
void ReadDeviceBudget(ConfigSection dp, DpSettings* dp_settings);

// Tables of the other binaries' files, which a reader skips (with a log
// line) so one file can drive them all: the simulator's (population, data,
// devices, run, attack, drift, variant, base_variant) and the service's
// (server, evaluation).
const std::vector<std::string>& SimulationTables();
const std::vector<std::string>& ServiceTables();
// Ignores each of `tables` present in `root` and returns their names.
std::vector<std::string> SkipTables(ConfigSection root, const std::vector<std::string>& tables);

// Accepted updates that close a round: ceil(fraction * population) when
// fraction > 0 (population 0: min_devices), else devices_per_round (at most
// the population when known). In async mode: async.buffer_size, the
// updates of one server step.
int64_t UpdatesPerRound(const FederationSettings& settings, int64_t population);
// client_dp.sampling_rate when set, else the expected share of `population`
// selected per round (async mode: buffer_size of them per server step).
// With population 0 it is taken against min_devices,
// which can only overstate the rate, so the accounted ε is an upper bound.
double DeviceSamplingRate(const FederationSettings& settings, int64_t population);

// Seeds derived from `seed`, one stream per use, so every binary draws the
// same initial model and the same cohorts from the same file.
enum class SeedStream : uint64_t { kModel = 0x6d6f64656cULL, kSelection = 0x73656c656374ULL };
uint64_t SeedFor(const FederationSettings& settings, SeedStream stream);

// The settings as nested JSON mirroring the tables (for `--print-config`,
// summary.json and the simulator's report).
nlohmann::json FederationSettingsToJson(const FederationSettings& settings);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_FEDERATION_SETTINGS_H_
