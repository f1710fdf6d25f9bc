// File: simulations/scenario.h
//
// A simulation scenario: everything `fedge-sim run SCENARIO.toml` needs to
// build a population of virtual devices and run a federation over it. A
// scenario is the federation's settings in the schema every binary shares
// (settings/federation_settings.h: name, seed, [model], [federation],
// [training], [strategy], [dp], [client_dp], [deploy]), so the same file
// drives fedge-coordinator, plus the tables only a simulation has
// (docs/configuration.md lists every key with its default and range):
//
//   [population]  num_devices
//   [data]        dir, partition (iid | dirichlet | classes), alpha,
//                 classes_per_device, max_examples_per_device
//   [devices]     compute_speed, bandwidth_up, bandwidth_down, latency_ms
//                 (each { mean, sigma } of a log-normal), availability, dropout,
//                 diurnal_period_s, diurnal_on_fraction
//   [run]         workers, torch_threads, out_dir, state_dir
//   [attack]      fraction, kind, scale, noise_std (simulations/attack.h)
//   [drift]       data drift schedule and the devices' detector and response
//                 (simulations/drift_schedule.h)
//   [[variant]]   simulations/variants.h
//
// In a simulation `seed` also seeds the partition, the device draws and the
// attacks; min_devices is the population; deploy.proxy_data must be (and
// defaults to) data.dir, whose proxy tail is held out of the devices' shards.
// The service's tables ([server], [evaluation]) are skipped.
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
#include "core/idx.h"
#include "nlohmann/json.hpp"
#include "settings/federation_settings.h"
#include "settings/gateway_settings.h"
#include "simulations/attack.h"
#include "simulations/drift_schedule.h"

namespace fedge {

// A log-normal distribution described by its arithmetic mean and the
// standard deviation `sigma` of the underlying normal: a draw is
// mean * exp(sigma * z - sigma^2 / 2) with z ~ N(0, 1), whose expectation is
// `mean`. sigma = 0 gives the constant `mean`.
struct LogNormal {
  double mean = 1;
  double sigma = 0;
};

// Bounds of the `sample` partition's per-device style (a device draws its
// own within them; simulations/sample_partition.h). 0 disables a component.
struct SampleStyle {
  double rotation_deg = 0;  // rotation uniform in ±rotation_deg degrees
  double brightness = 0;    // offset uniform in ±brightness ([0, 1] pixel scale)
  double noise = 0;         // sensor-noise std uniform in [0, noise]
};

struct Scenario : FederationSettings {
  struct Population {
    // Virtual devices registered with the coordinator.
    int64_t num_devices = 10;
  } population;

  struct Data {
    // Folder with the Fashion-MNIST IDX files (core/idx.h).
    std::string dir = kDefaultFashionMnistDir;
    // How the training set is split over devices (simulations/partition.h).
    std::string partition = "iid";  // "iid", "dirichlet", "classes" or "sample"
    // Dirichlet concentration: small = skewed, large = close to IID.
    double alpha = 0.5;
    // Classes per device for partition = "classes".
    int classes_per_device = 2;
    // Caps each device's shard; 0 = no cap.
    int64_t max_examples_per_device = 0;
    // partition = "sample" (simulations/sample_partition.h): a sample with
    // replacement per device, its size log-normal clamped to
    // [sample_min, sample_max], its label mix Dir(alpha), its style drawn
    // within `style`.
    LogNormal sample_size{.mean = 60, .sigma = 0.5};
    int64_t sample_min = 1;
    int64_t sample_max = 1000;
    SampleStyle style = {};
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
    // Diurnal availability (simulations/availability.h): each device is
    // online for diurnal_on_fraction of every diurnal_period_s seconds, in
    // one window at its own random phase. 0: always online.
    double diurnal_period_s = 0;
    double diurnal_on_fraction = 1.0;
    // With [secagg]: probability that a device still in the protocol loses
    // its link at each of its four stages (simulations/README.md).
    double secagg_dropout = 0.0;
  } devices;

  struct Run {
    // Devices trained concurrently (worker threads).
    int workers = 1;
    // LibTorch intra-op threads per training device.
    int torch_threads = 1;
    // Reports are written to <out_dir>/<name>/.
    std::string out_dir = "runs";
    // Durable state (coordinator/store/README.md): the coordinator's store
    // and the devices' state, so an interrupted run continues with
    // `fedge-sim run --resume`; empty keeps everything in memory. With
    // [[variant]] tables each run uses <state_dir>/<label>/.
    std::string state_dir = {};
  } run;

  // Byzantine devices ([attack]; default none).
  AttackOptions attack;
  // Drifting device data, the devices' monitors and their response ([drift];
  // default off). The coordinator's response is in [federation].
  DriftSettings drift;
  // The two-tier topology ([gateway] sites > 0): the devices are split among
  // that many gateways (gateway/gateway.h), which the coordinator sees as
  // its devices; [federation] devices_per_round then counts sites.
  GatewaySettings gateway;
  bool two_tier() const { return gateway.sites > 0; }
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
