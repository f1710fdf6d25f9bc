#include "simulations/scenario.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

void ReadLogNormal(ConfigSection parent, std::string_view key, LogNormal* out, double max_mean) {
  ConfigSection s = parent.Section(key);  // absent: reads leave the defaults
  s.Read("mean", &out->mean, 1e-9, max_mean);
  s.Read("sigma", &out->sigma, 0, 5);
}

// The `sample` partition's keys (simulations/sample_partition.h).
void ReadSampleKeys(ConfigSection data, Scenario::Data& d) {
  ReadLogNormal(data, "sample_size", &d.sample_size, 1e7);
  data.Read("sample_min", &d.sample_min, 1, 10000000);
  data.Read("sample_max", &d.sample_max, 1, 10000000);
  if (d.sample_max < d.sample_min) {
    data.Error(absl::StrCat("'sample_max' = ", d.sample_max, " is below 'sample_min' = ", d.sample_min));
  }
  ConfigSection style = data.Section("style");
  style.Read("rotation_deg", &d.style.rotation_deg, 0, 180);
  style.Read("brightness", &d.style.brightness, 0, 1);
  style.Read("noise", &d.style.noise, 0, 1);
}

// The simulation's rules on the shared settings.
// What the two-tier topology does not run with (yet), and its shape.
void CheckTwoTier(ConfigSection root, const Scenario& sc) {
  if (!sc.two_tier()) return;
  ConfigSection gateway = root.Section("gateway");
  if (sc.gateway.sites > sc.population.num_devices) {
    gateway.Error(absl::StrCat("'sites' = ", sc.gateway.sites, " exceeds population.num_devices = ",
                               sc.population.num_devices, ": every gateway needs a device"));
  }
  const char* refused = sc.async_mode()         ? "federation.mode = \"async\""
                        : sc.secagg.enabled     ? "[secagg] (a gateway sees its devices' updates)"
                        : sc.drift.enabled()    ? "[drift]"
                        : sc.deploy.enabled()   ? "[deploy]"
                        : !sc.run.state_dir.empty() ? "run.state_dir"
                                                    : nullptr;
  if (refused != nullptr) {
    gateway.Error(absl::StrCat("'sites' > 0 (gateways) does not run with ", refused, " in the simulator yet"));
  }
}

void CheckFederationForSimulation(ConfigSection root, Scenario& sc) {
  ConfigSection federation = root.Section("federation");
  FederationSettings::Federation& f = sc.federation;
  if (f.rounds < 1) federation.Error("'rounds' must be >= 1 in a simulation (0 runs until stopped)");
  // With gateways the coordinator's devices are the sites.
  const int64_t n = sc.two_tier() ? sc.gateway.sites : sc.population.num_devices;
  if (!federation.Has("devices_per_round")) {
    f.devices_per_round = std::min(f.devices_per_round, n);
  } else if (f.devices_per_round > n) {
    federation.Error(absl::StrCat("'devices_per_round' = ", f.devices_per_round, " exceeds ",
                                  sc.two_tier() ? "gateway.sites" : "population.num_devices", " = ", n));
  }
  if (f.min_devices > n) {
    federation.Error(absl::StrCat("'min_devices' = ", f.min_devices, " exceeds ",
                                  sc.two_tier() ? "gateway.sites" : "population.num_devices", " = ", n));
  }
  if (sc.async_mode() && sc.async.buffer_size > n) {
    root.Section("async").Error(absl::StrCat("'buffer_size' = ", sc.async.buffer_size,
                                             " exceeds population.num_devices = ", n,
                                             ": a device contributes at most one update to each server step"));
  }
  ConfigSection deploy = root.Section("deploy");
  if (!deploy.Has("proxy_data")) {
    sc.deploy.proxy_data = sc.data.dir;
  } else if (sc.deploy.enabled() && sc.deploy.proxy_data != sc.data.dir) {
    deploy.Error("'proxy_data' must be data.dir in a simulation: the proxy set is the tail of the devices' "
                 "training split, held out of their shards (leave it unset)");
  }
}

void ReadTables(ConfigSection root, Scenario& sc, const ScenarioChecks& checks) {
  SkipTables(root, ServiceTables());
  root.Section("population").Read("num_devices", &sc.population.num_devices, 1, 10000000);
  ReadFederationSettings(root, {.known_models = checks.known_models, .population = sc.population.num_devices}, &sc);

  ConfigSection data = root.Section("data");
  data.Read("dir", &sc.data.dir);
  data.Read("partition", &sc.data.partition, {"iid", "dirichlet", "classes", "sample"});
  data.Read("alpha", &sc.data.alpha, 1e-4, 1e6);
  data.Read("classes_per_device", &sc.data.classes_per_device, 1, 10);
  data.Read("max_examples_per_device", &sc.data.max_examples_per_device, 0, kMaxInt);
  ReadSampleKeys(data, sc.data);
  if (checks.require_data_dir && !std::filesystem::is_directory(sc.data.dir)) {
    data.Error(absl::StrCat("'dir' = \"", sc.data.dir,
                            "\" is not a directory; point it at the Fashion-MNIST IDX files (Debian package "
                            "dataset-fashion-mnist installs them in ",
                            kDefaultFashionMnistDir, ")"));
  }

  ConfigSection dev = root.Section("devices");
  ReadLogNormal(dev, "compute_speed", &sc.devices.compute_speed, 1e9);
  ReadLogNormal(dev, "bandwidth_up", &sc.devices.bandwidth_up, 1e6);
  ReadLogNormal(dev, "bandwidth_down", &sc.devices.bandwidth_down, 1e6);
  ReadLogNormal(dev, "latency_ms", &sc.devices.latency_ms, 1e6);
  dev.Read("availability", &sc.devices.availability, 0, 1);
  dev.Read("dropout", &sc.devices.dropout, 0, 1);
  dev.Read("diurnal_period_s", &sc.devices.diurnal_period_s, 0, 1e9);
  dev.Read("diurnal_on_fraction", &sc.devices.diurnal_on_fraction, 1e-3, 1);
  dev.Read("secagg_dropout", &sc.devices.secagg_dropout, 0, 1);

  ConfigSection run = root.Section("run");
  run.Read("workers", &sc.run.workers, 1, 1024);
  run.Read("torch_threads", &sc.run.torch_threads, 1, 1024);
  run.Read("out_dir", &sc.run.out_dir);
  if (sc.run.out_dir.empty()) run.Error("'out_dir' must not be empty");
  run.Read("state_dir", &sc.run.state_dir);

  ReadGatewayTable(root.Section("gateway"), &sc.gateway);
  CheckFederationForSimulation(root, sc);
  ReadAttackTable(root.Section("attack"), &sc.attack);
  ReadDriftTable(root.Section("drift"), sc.population.num_devices, sc.federation.rounds, &sc.drift);
  CheckTwoTier(root, sc);
  if (sc.drift.enabled() && sc.async_mode()) {
    root.Section("drift").Error("a [drift] schedule advances per round; the simulator does not run it with "
                                "federation.mode = \"async\" yet");
  }
  if (sc.drift.enabled() && sc.data.partition == "sample") {
    data.Error("partition = \"sample\" does not support a [drift] table yet (drifting devices keep their shards "
               "for the whole run); use iid, dirichlet or classes");
  }
}

nlohmann::json ToJson(const LogNormal& d) { return {{"mean", d.mean}, {"sigma", d.sigma}}; }

}  // namespace

absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view source, const ScenarioChecks& checks) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Parse(text, source));
  Scenario scenario;
  ReadTables(file.root(), scenario, checks);
  FEDGE_RETURN_IF_ERROR(file.Finish());
  return scenario;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path, const ScenarioChecks& checks) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Load(path));
  Scenario scenario;
  ReadTables(file.root(), scenario, checks);
  FEDGE_RETURN_IF_ERROR(file.Finish());
  return scenario;
}

nlohmann::json ScenarioToJson(const Scenario& s) {
  nlohmann::json j = FederationSettingsToJson(s);
  j["population"] = {{"num_devices", s.population.num_devices}};
  j["data"] = {{"dir", s.data.dir},
               {"partition", s.data.partition},
               {"alpha", s.data.alpha},
               {"classes_per_device", s.data.classes_per_device},
               {"max_examples_per_device", s.data.max_examples_per_device},
               {"sample_size", ToJson(s.data.sample_size)},
               {"sample_min", s.data.sample_min},
               {"sample_max", s.data.sample_max},
               {"style",
                {{"rotation_deg", s.data.style.rotation_deg},
                 {"brightness", s.data.style.brightness},
                 {"noise", s.data.style.noise}}}};
  j["devices"] = {{"compute_speed", ToJson(s.devices.compute_speed)},
                  {"bandwidth_up", ToJson(s.devices.bandwidth_up)},
                  {"bandwidth_down", ToJson(s.devices.bandwidth_down)},
                  {"latency_ms", ToJson(s.devices.latency_ms)},
                  {"availability", s.devices.availability},
                  {"dropout", s.devices.dropout}};
  if (s.devices.diurnal_period_s > 0) {  // only when on: older scenarios' JSON is unchanged
    j["devices"]["diurnal_period_s"] = s.devices.diurnal_period_s;
    j["devices"]["diurnal_on_fraction"] = s.devices.diurnal_on_fraction;
  }
  if (s.devices.secagg_dropout > 0) j["devices"]["secagg_dropout"] = s.devices.secagg_dropout;
  if (s.two_tier()) j["gateway"] = GatewaySettingsToJson(s.gateway);
  j["run"] = {{"workers", s.run.workers},
              {"torch_threads", s.run.torch_threads},
              {"out_dir", s.run.out_dir},
              {"state_dir", s.run.state_dir}};
  j["attack"] = AttackToJson(s.attack);
  if (s.drift.enabled()) j["drift"] = DriftToJson(s.drift);
  return j;
}

double SampleLogNormal(const LogNormal& d, double z) {
  return d.mean * std::exp(d.sigma * z - 0.5 * d.sigma * d.sigma);
}

}  // namespace fedge
