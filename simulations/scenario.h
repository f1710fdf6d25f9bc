// File: simulations/scenario.h
//
// A simulation scenario: everything `fedge-sim run SCENARIO.toml` needs to
// build a population of virtual devices and run a federation over it. The
// TOML file groups keys in tables (see simulations/README.md for every key
// with its default and range):
//
//   name = "quickstart"        seed = 1        rounds = 10
//   model = "cnn_small"        codec = "fp32"
//   [population]  num_devices
//   [selection]   devices_per_round | fraction, over_selection, min_quorum, round_deadline_s
//   [training]    local_epochs, batch_size, lr, momentum, weight_decay, optimizer
//   [data]        dir, partition (iid | dirichlet | classes), alpha,
//                 classes_per_device, max_examples_per_device
//   [devices]     compute_speed, bandwidth_up, bandwidth_down, latency_ms
//                 (each { mean, sigma } of a log-normal), availability, dropout
//   [run]         workers, torch_threads, evaluate_every, out_dir
//   [strategy]    name + [strategy.<name>] options (simulations/strategy_setup.h)
//   [attack]      fraction, kind, scale, noise_std (simulations/attack.h)
//   [dp], [client_dp]  sample- and client-level DP (simulations/privacy_setup.h)
//   [drift]       data drift schedule, detector and response (simulations/drift_schedule.h)
//
// Parsing is done once, at the boundary: every value is type- and
// range-checked, unknown keys (typos) are reported with their full path, and
// all problems are returned together.
//
// This file is free of LibTorch; the caller supplies the model zoo's names.
#ifndef FEDGE_SIMULATIONS_SCENARIO_H_
#define FEDGE_SIMULATIONS_SCENARIO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregation/strategy_registry.h"
#include "core/idx.h"
#include "nlohmann/json.hpp"
#include "simulations/attack.h"
#include "simulations/deploy_setup.h"
#include "simulations/drift_schedule.h"
#include "simulations/privacy_setup.h"

namespace fedge {

// A log-normal distribution described by its arithmetic mean and the
// standard deviation `sigma` of the underlying normal: a draw is
// mean * exp(sigma * z - sigma^2 / 2) with z ~ N(0, 1), whose expectation is
// `mean`. sigma = 0 gives the constant `mean`.
struct LogNormal {
  double mean = 1;
  double sigma = 0;
};

struct Scenario {
  // Names the run: reports go to <run.out_dir>/<name>/.
  std::string name = "scenario";
  // Seeds everything random: partition, device draws, selection, training.
  uint64_t seed = 1;
  // Rounds to run.
  int64_t rounds = 10;
  // Zoo architecture (models/zoo.h) of the global model.
  std::string model = "cnn_small";
  // Update codec pipeline devices encode with (compression/codec_spec.h).
  std::string codec = "fp32";

  struct Population {
    // Virtual devices registered with the coordinator.
    int64_t num_devices = 10;
  } population;

  struct Selection {
    // Accepted updates that close a round (used when fraction == 0).
    int64_t devices_per_round = 10;
    // When > 0, the target is ceil(fraction * num_devices) instead.
    double fraction = 0;
    // Devices sampled = ceil(target * over_selection).
    double over_selection = 1.0;
    // Fewest accepted updates for a round to succeed at its deadline.
    int64_t min_quorum = 1;
    // Simulated seconds from opening a round to its forced close.
    double round_deadline_s = 600;
  } selection;

  struct Training {
    int local_epochs = 1;
    int batch_size = 32;
    double lr = 0.05;
    double momentum = 0;
    double weight_decay = 0;
    std::string optimizer = "sgd";  // "sgd" or "adam"
  } training;

  struct Data {
    // Folder with the Fashion-MNIST IDX files (core/idx.h).
    std::string dir = kDefaultFashionMnistDir;
    // How the training set is split over devices (simulations/partition.h).
    std::string partition = "iid";  // "iid", "dirichlet" or "classes"
    // Dirichlet concentration: small = skewed, large = close to IID.
    double alpha = 0.5;
    // Classes per device for partition = "classes".
    int classes_per_device = 2;
    // Caps each device's shard; 0 = no cap.
    int64_t max_examples_per_device = 0;
  } data;

  struct Devices {
    // Local training speed in examples per second.
    LogNormal compute_speed{.mean = 500, .sigma = 0.5};
    // Link bandwidths in Mbit/s.
    LogNormal bandwidth_up{.mean = 5, .sigma = 0.5};
    LogNormal bandwidth_down{.mean = 20, .sigma = 0.5};
    // One-way latency in milliseconds, paid once per transfer.
    LogNormal latency_ms{.mean = 50, .sigma = 0.3};
    // Probability that a sampled device is online and takes its task.
    double availability = 1.0;
    // Probability that a device that took its task drops out before
    // uploading (after downloading the model).
    double dropout = 0.0;
  } devices;

  struct Run {
    // Devices trained concurrently (worker threads).
    int workers = 1;
    // LibTorch intra-op threads per training device.
    int torch_threads = 1;
    // Evaluate the global model on the test set every this many rounds; 0 never.
    int64_t evaluate_every = 1;
    // Reports are written to <out_dir>/<name>/.
    std::string out_dir = "runs";
  } run;

  // The coordinator's aggregation strategy ([strategy], read by the strategy
  // registry; default FedAvg).
  StrategySpec strategy = DefaultStrategySpec();
  // Byzantine devices ([attack]; default none).
  AttackOptions attack;
  // Sample-level DP-SGD on devices ([dp]) and client-level DP at the
  // coordinator ([client_dp]); simulations/privacy_setup.h. Default off.
  DpSettings dp;
  ClientDpSettings client_dp;
  // Drifting device data and the federation's response ([drift]; default off).
  DriftSettings drift;
  // The deployed int8 model ([deploy]; simulations/deploy_setup.h; default off).
  DeploySettings deploy;
};

// What ParseScenario checks beyond the file itself.
struct ScenarioChecks {
  // Allowed values of `model`; empty accepts any non-empty name.
  std::vector<std::string> known_models;
  // Require data.dir to be an existing directory.
  bool require_data_dir = true;
};

// Parses scenario TOML text; `source` names it in messages. kInvalidArgument
// listing every problem (syntax, type, range, allowed value, unknown key with
// its full path, cross-field rule, missing data directory), one per line.
absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view source,
                                       const ScenarioChecks& checks = {});
// Reads and parses a scenario file. kNotFound when it does not exist.
absl::StatusOr<Scenario> LoadScenario(const std::string& path, const ScenarioChecks& checks = {});

// The scenario as nested JSON objects mirroring the TOML tables (for
// summary.json and the report's scenario table).
nlohmann::json ScenarioToJson(const Scenario& scenario);

// One draw from `d` given a standard normal `z`.
double SampleLogNormal(const LogNormal& d, double z);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_SCENARIO_H_
