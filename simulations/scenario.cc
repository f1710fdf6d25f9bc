#include "simulations/scenario.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compression/codec.h"
#include "core/config.h"
#include "core/status.h"
#include "core/strings.h"
#include "simulations/privacy_setup.h"
#include "simulations/strategy_setup.h"

namespace fedge {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

void ReadLogNormal(ConfigSection parent, std::string_view key, LogNormal* out, double max_mean) {
  ConfigSection s = parent.Section(key);  // absent: reads leave the defaults
  s.Read("mean", &out->mean, 1e-9, max_mean);
  s.Read("sigma", &out->sigma, 0, 5);
}

void ReadTables(ConfigSection root, Scenario& sc, const ScenarioChecks& checks) {
  root.Read("name", &sc.name);
  if (sc.name.empty() || sc.name.find_first_of("/\\") != std::string::npos || sc.name == "." || sc.name == "..") {
    root.Error("'name' must be a non-empty file name (no '/'), it names the report folder");
  }
  int64_t seed = static_cast<int64_t>(sc.seed);
  root.Read("seed", &seed, 0, kMaxInt);
  sc.seed = static_cast<uint64_t>(seed);
  root.Read("rounds", &sc.rounds, 1, 1000000);
  root.Read("model", &sc.model, checks.known_models);
  if (sc.model.empty()) root.Error("'model' must not be empty");
  root.Read("codec", &sc.codec);
  if (absl::Status codec = ValidateCodecSpec(sc.codec); !codec.ok()) {
    root.Error(absl::StrCat("'codec': ", codec.message()));
  }

  root.Section("population").Read("num_devices", &sc.population.num_devices, 1, 10000000);

  ConfigSection sel = root.Section("selection");
  sel.Read("devices_per_round", &sc.selection.devices_per_round, 1, 10000000);
  sel.Read("fraction", &sc.selection.fraction, 0, 1);
  sel.Read("over_selection", &sc.selection.over_selection, 1, 10);
  sel.Read("min_quorum", &sc.selection.min_quorum, 1, 10000000);
  sel.Read("round_deadline_s", &sc.selection.round_deadline_s, 1e-3, 1e9);
  if (sel.Has("devices_per_round") && sel.Has("fraction")) {
    sel.Error("set either 'devices_per_round' or 'fraction', not both");
  }
  if (!sel.Has("devices_per_round")) {
    sc.selection.devices_per_round = std::min(sc.selection.devices_per_round, sc.population.num_devices);
  } else if (sc.selection.devices_per_round > sc.population.num_devices) {
    sel.Error(absl::StrCat("'devices_per_round' = ", sc.selection.devices_per_round,
                           " exceeds population.num_devices = ", sc.population.num_devices));
  }

  ConfigSection train = root.Section("training");
  train.Read("local_epochs", &sc.training.local_epochs, 1, 1000);
  train.Read("batch_size", &sc.training.batch_size, 1, 1 << 20);
  train.Read("lr", &sc.training.lr, 1e-9, 100);
  train.Read("momentum", &sc.training.momentum, 0, 0.999999);
  train.Read("weight_decay", &sc.training.weight_decay, 0, 10);
  train.Read("optimizer", &sc.training.optimizer, {"sgd", "adam"});

  ConfigSection data = root.Section("data");
  data.Read("dir", &sc.data.dir);
  data.Read("partition", &sc.data.partition, {"iid", "dirichlet", "classes"});
  data.Read("alpha", &sc.data.alpha, 1e-4, 1e6);
  data.Read("classes_per_device", &sc.data.classes_per_device, 1, 10);
  data.Read("max_examples_per_device", &sc.data.max_examples_per_device, 0, kMaxInt);
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

  ConfigSection run = root.Section("run");
  run.Read("workers", &sc.run.workers, 1, 1024);
  run.Read("torch_threads", &sc.run.torch_threads, 1, 1024);
  run.Read("evaluate_every", &sc.run.evaluate_every, 0, kMaxInt);
  run.Read("out_dir", &sc.run.out_dir);
  if (sc.run.out_dir.empty()) run.Error("'out_dir' must not be empty");

  const int64_t target =
      sc.selection.fraction > 0
          ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(sc.selection.fraction * sc.population.num_devices)))
          : sc.selection.devices_per_round;
  ReadScenarioStrategy(root.Section("strategy"), target, &sc.strategy);
  ReadAttackTable(root.Section("attack"), &sc.attack);
  ReadPrivacyTables(root, sc);
  ReadDriftTable(root.Section("drift"), sc.population.num_devices, sc.rounds, &sc.drift);
  ReadDeployTable(root.Section("deploy"), sc.rounds, checks.known_models, &sc.deploy);
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
  nlohmann::json j;
  j["name"] = s.name;
  j["seed"] = s.seed;
  j["rounds"] = s.rounds;
  j["model"] = s.model;
  j["codec"] = s.codec;
  j["population"] = {{"num_devices", s.population.num_devices}};
  j["selection"] = {{"devices_per_round", s.selection.devices_per_round},
                    {"fraction", s.selection.fraction},
                    {"over_selection", s.selection.over_selection},
                    {"min_quorum", s.selection.min_quorum},
                    {"round_deadline_s", s.selection.round_deadline_s}};
  j["training"] = {{"local_epochs", s.training.local_epochs},
                   {"batch_size", s.training.batch_size},
                   {"lr", s.training.lr},
                   {"momentum", s.training.momentum},
                   {"weight_decay", s.training.weight_decay},
                   {"optimizer", s.training.optimizer}};
  j["data"] = {{"dir", s.data.dir},
               {"partition", s.data.partition},
               {"alpha", s.data.alpha},
               {"classes_per_device", s.data.classes_per_device},
               {"max_examples_per_device", s.data.max_examples_per_device}};
  j["devices"] = {{"compute_speed", ToJson(s.devices.compute_speed)},
                  {"bandwidth_up", ToJson(s.devices.bandwidth_up)},
                  {"bandwidth_down", ToJson(s.devices.bandwidth_down)},
                  {"latency_ms", ToJson(s.devices.latency_ms)},
                  {"availability", s.devices.availability},
                  {"dropout", s.devices.dropout}};
  j["run"] = {{"workers", s.run.workers},
              {"torch_threads", s.run.torch_threads},
              {"evaluate_every", s.run.evaluate_every},
              {"out_dir", s.run.out_dir}};
  j["strategy"] = StrategyToJson(s.strategy);
  j["attack"] = AttackToJson(s.attack);
  PrivacyToJson(s, j);
  if (s.drift.enabled()) j["drift"] = DriftToJson(s.drift);
  if (s.deploy.enabled()) j["deploy"] = DeployToJson(s.deploy);
  return j;
}

double SampleLogNormal(const LogNormal& d, double z) {
  return d.mean * std::exp(d.sigma * z - 0.5 * d.sigma * d.sigma);
}

}  // namespace fedge
