#include "settings/federation_settings.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "compression/codec.h"
#include "core/random.h"
#include "core/strings.h"
#include "settings/renamed_keys.h"

namespace fedge {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

void ReadTopLevel(ConfigSection root, FederationSettings& s) {
  root.Read("name", &s.name);
  if (s.name.empty() || s.name.find_first_of("/\\") != std::string::npos || s.name == "." || s.name == "..") {
    root.Error("'name' must be a non-empty file name (no '/'): it names the model family and the report folder");
  }
  int64_t seed = static_cast<int64_t>(s.seed);
  root.Read("seed", &seed, 0, kMaxInt);
  s.seed = static_cast<uint64_t>(seed);
}

void ReadFederationTable(ConfigSection t, FederationSettings::Federation& f) {
  t.Read("rounds", &f.rounds, 0, 10'000'000);
  t.Read("min_devices", &f.min_devices, 1, kMaxInt);
  t.Read("devices_per_round", &f.devices_per_round, 1, kMaxInt);
  t.Read("fraction", &f.fraction, 0, 1);
  t.Read("over_selection", &f.over_selection, 1, 10);
  t.Read("min_quorum", &f.min_quorum, 1, kMaxInt);
  t.Read("round_deadline_s", &f.round_deadline_s, 1e-3, 1e9);
  t.Read("poll_interval_ms", &f.poll_interval_ms, 1, 86'400'000);
  t.Read("evaluate_every", &f.evaluate_every, 0, kMaxInt);
  t.Read("download_chunk_bytes", &f.download_chunk_bytes, 1024, 256 << 20);
  t.Read("max_update_norm", &f.max_update_norm, 0, std::numeric_limits<double>::max());
  t.Read("max_examples", &f.max_examples, 0, kMaxInt);
  t.Read("favour_drifting", &f.favour_drifting);
  t.Read("extra_round_drift_fraction", &f.extra_round_drift_fraction, 0, 1);
  t.Read("max_extra_rounds", &f.max_extra_rounds, 0, 1'000'000);
  t.Read("mode", &f.mode, {"sync", "async"});
  if (t.Has("devices_per_round") && t.Has("fraction")) {
    t.Error("set either 'devices_per_round' or 'fraction', not both");
  }
  if (f.min_quorum > f.devices_per_round && f.fraction == 0) {
    t.Error(absl::StrCat("'min_quorum' = ", f.min_quorum, " exceeds 'devices_per_round' = ", f.devices_per_round,
                         ": no round could succeed"));
  }
}

void ReadTrainingTable(ConfigSection t, FederationSettings::Training& tr) {
  t.Read("local_epochs", &tr.local_epochs, 1, 1000);
  t.Read("batch_size", &tr.batch_size, 1, 1 << 20);
  t.Read("learning_rate", &tr.learning_rate, 1e-9, 100);
  t.Read("momentum", &tr.momentum, 0, 0.999999);
  t.Read("weight_decay", &tr.weight_decay, 0, 10);
  t.Read("optimizer", &tr.optimizer, {"sgd", "adam"});
  t.Read("codec", &tr.codec);
  if (absl::Status codec = ValidateCodecSpec(tr.codec); !codec.ok()) {
    t.Error(absl::StrCat("'codec': ", codec.message()));
  }
  t.Read("max_examples", &tr.max_examples, 0, kMaxInt);
  t.Read("update_clip_norm", &tr.update_clip_norm, 0, 1e9);
}

// Reads a key that must be present when its table is enabled.
void ReadRequired(ConfigSection& s, std::string_view key, double* out, double lo, double hi, std::string_view why) {
  if (!s.Has(key)) {
    s.Error(absl::StrCat("'", AsAbsl(key), "' is required: ", AsAbsl(why)));
    return;
  }
  s.Read(key, out, lo, hi);
}

void ReadDpTable(ConfigSection root, FederationSettings& s) {
  if (!root.Has("dp")) return;
  ConfigSection t = root.Section("dp");
  DpSettings& dp = s.dp;
  dp.enabled = true;
  t.Read("enabled", &dp.enabled);
  // Every key is read even when disabled, so a variant may switch DP off
  // without its remaining keys being reported as unknown.
  if (dp.enabled) {
    ReadRequired(t, "noise_multiplier", &dp.noise_multiplier, 1e-3, 1e4,
                 "the DP-SGD noise multiplier sigma (pick it with `fedge-dp noise`)");
    ReadRequired(t, "clip_norm", &dp.clip_norm, 1e-9, 1e9, "the per-example L2 clipping norm");
  } else {
    t.Read("noise_multiplier", &dp.noise_multiplier, 0, 1e4);
    t.Read("clip_norm", &dp.clip_norm, 0, 1e9);
  }
  ReadDeviceBudget(t, &dp);
  if (dp.enabled && s.training.optimizer != "sgd") {
    t.Error(absl::StrCat("DP-SGD trains with the sgd optimizer; training.optimizer is \"", s.training.optimizer,
                         "\""));
  }
}

void ReadClientDpTable(ConfigSection root, ClientDpSettings& c) {
  if (!root.Has("client_dp")) return;
  ConfigSection t = root.Section("client_dp");
  c.enabled = true;
  t.Read("enabled", &c.enabled);
  t.Read("clip_norm", &c.clip_norm, 1e-9, 1e9);
  t.Read("noise_multiplier", &c.noise_multiplier, 1e-3, 1e4);
  t.Read("adaptive", &c.adaptive);
  t.Read("target_quantile", &c.target_quantile, 0, 1);
  t.Read("clip_learning_rate", &c.clip_learning_rate, 1e-9, 100);
  t.Read("count_noise", &c.count_noise, 0, 1e9);
  t.Read("sampling_rate", &c.sampling_rate, 0, 1);
  t.Read("delta", &c.delta, 1e-300, 0.999999);
  if (c.enabled && c.adaptive && !(c.count_noise > c.noise_multiplier / 2)) {
    t.Error(absl::StrCat("adaptive clipping needs 'count_noise' > noise_multiplier / 2 = ", c.noise_multiplier / 2,
                         " (the paper suggests expected devices per round / 20)"));
  }
}

void ReadDeployTable(ConfigSection t, const FederationSettings& s, const SettingsChecks& checks, DeploySettings& d) {
  t.Read("every_rounds", &d.every_rounds, 0, 1'000'000);
  t.Read("student", &d.student, checks.known_models);
  t.Read("temperature", &d.temperature, 1e-3, 1000);
  t.Read("epochs", &d.epochs, 1, 1000);
  t.Read("batch_size", &d.batch_size, 1, 1 << 20);
  t.Read("learning_rate", &d.learning_rate, 1e-9, 10);
  t.Read("proxy_data", &d.proxy_data);
  t.Read("proxy_examples", &d.proxy_examples, 1, 1'000'000);
  t.Read("prune_fraction", &d.prune_fraction, 0, 0.99);
  t.Read("warm_start", &d.warm_start);
  t.Read("threads", &d.threads, 0, 1024);
  t.Read("test_degrade_from_version", &d.test_degrade_from_version, 0, int64_t{1} << 40);
  if (d.student.empty()) t.Error("'student' must name a model of the zoo, e.g. \"cnn_student\"");
  if (!d.enabled()) return;
  if (s.federation.rounds > 0 && d.every_rounds > s.federation.rounds) {
    t.Error(absl::StrCat("'every_rounds' = ", d.every_rounds, " exceeds federation.rounds = ", s.federation.rounds,
                         ": no model would ever be deployed"));
  }
  if (d.proxy_data.empty()) {
    t.Error("'proxy_data' must name a Fashion-MNIST directory: its training images are the distillation proxy set "
            "and its test split measures the deployed model");
  }
}

// One entry per stage, or a one-entry array for all of them; integers where
// `integral`.
void ReadStageArray(ConfigSection t, const char* key, size_t stages, double lo, double hi, bool integral,
                    std::vector<double>& values) {
  if (!t.Has(key)) return;
  t.Read(key, &values);
  if (values.size() == 1) values.assign(stages, values[0]);
  if (values.size() != stages) {
    t.Error(absl::StrCat("'", key, "' needs one entry per stage (", stages,
                         ", as 'fractions') or a one-entry array for all"));
    return;
  }
  for (double v : values) {
    if (!(v >= lo && v <= hi) || (integral && v != std::floor(v))) {
      t.Error(absl::StrCat("'", key, "' entries must be ", integral ? "integers " : "", "in [", lo, ", ", hi, "]"));
      return;
    }
  }
}

void ReadRolloutTable(ConfigSection root, RolloutSettings& r) {
  if (!root.Has("rollout")) return;
  ConfigSection t = root.Section("rollout");
  r.enabled = true;
  t.Read("enabled", &r.enabled);
  if (t.Has("fractions")) {
    t.Read("fractions", &r.fractions);
    // Stage arrays not given follow the new number of stages.
    if (r.min_devices.size() != r.fractions.size()) r.min_devices.assign(r.fractions.size(), 1);
    if (r.soak_s.size() != r.fractions.size()) r.soak_s.assign(r.fractions.size(), 0);
  }
  if (r.fractions.empty()) {
    t.Error("'fractions' needs at least one stage, e.g. [0.01, 0.1, 0.5, 1.0]");
    return;
  }
  double previous = 0;
  for (double f : r.fractions) {
    if (!(f > 0 && f <= 1) || f < previous) {
      t.Error("'fractions' must be non-decreasing shares of devices in (0, 1], e.g. [0.01, 0.1, 0.5, 1.0]");
      return;
    }
    previous = f;
  }
  if (r.fractions.back() != 1) t.Error("the last of 'fractions' must be 1: a rollout ends on every device");
  ReadStageArray(t, "min_devices", r.fractions.size(), 0, 1e9, true, r.min_devices);
  ReadStageArray(t, "soak_s", r.fractions.size(), 0, 1e8, false, r.soak_s);
  t.Read("max_failure_share", &r.max_failure_share, 0, 0.999);
  t.Read("min_accuracy", &r.min_accuracy, 0, 1);
  t.Read("max_inference_error_share", &r.max_inference_error_share, 0, 1);
  t.Read("max_drift_increase", &r.max_drift_increase, 0, 1);
}

void ReadStrategy(ConfigSection t, int64_t updates_per_round, StrategySpec& spec) {
  std::optional<StrategySpec> read = ReadStrategyTable(t);
  if (!read) return;
  const int64_t needed = read->create()->min_updates();
  if (updates_per_round < needed) {
    t.Error(absl::StrCat("strategy \"", read->name, "\" needs at least ", needed,
                         " updates per round, but a round closes at ", updates_per_round,
                         "; raise federation.devices_per_round or lower the strategy's num_byzantine / "
                         "num_selected"));
  }
  if (read->max_updates > 0 && updates_per_round > read->max_updates) {
    t.Error(absl::StrCat("strategy \"", read->name, "\" holds at most max_updates = ", read->max_updates,
                         " updates, but a round closes at ", updates_per_round, "; raise strategy.", read->name,
                         ".max_updates"));
  }
  spec = *std::move(read);
}

}  // namespace

void ReadModelTable(ConfigSection model, const SettingsChecks& checks, FederationSettings::Model* m) {
  // "torchscript:PATH" names a TorchScript file (models/model_registry.h),
  // checked when the model is built.
  model.Read("name", &m->name);
  if (m->name.empty()) {
    model.Error("'name' must name a model of the zoo, e.g. \"cnn_small\", or \"torchscript:PATH\"");
  } else if (!m->name.starts_with("torchscript:") && !checks.known_models.empty() &&
             std::find(checks.known_models.begin(), checks.known_models.end(), m->name) == checks.known_models.end()) {
    model.Error(absl::StrCat("'model.name' = \"", m->name, "\" is not one of: ", absl::StrJoin(checks.known_models, ", "),
                             ", torchscript:PATH"));
  }
  model.Read("input_features", &m->shape.input_features, 0, int64_t{1} << 20);
  model.Read("num_classes", &m->shape.num_classes, 2, 100000);
}

void ReadDeviceBudget(ConfigSection dp, DpSettings* d) {
  dp.Read("device_epsilon", &d->device_epsilon, 0, 1e9);
  dp.Read("delta", &d->delta, 1e-300, 0.999999);
}

void ReadFederationSettings(ConfigSection root, const SettingsChecks& checks, FederationSettings* s) {
  RefuseRenamedKeys(root);
  ReadTopLevel(root, *s);
  ReadModelTable(root.Section("model"), checks, &s->model);
  ReadFederationTable(root.Section("federation"), s->federation);
  ReadTrainingTable(root.Section("training"), s->training);
  ReadAsyncTable(root.Section("async"), s->async_mode(), &s->async);
  ReadStrategy(root.Section("strategy"), UpdatesPerRound(*s, checks.population), s->strategy);
  ReadDpTable(root, *s);
  ReadClientDpTable(root, s->client_dp);
  ReadDeployTable(root.Section("deploy"), *s, checks, s->deploy);
  ReadRolloutTable(root, s->rollout);
  if (s->async_mode() && s->rollout.enabled) {
    root.Section("rollout").Error("a staged rollout needs rounds; it is not available with federation.mode = \"async\"");
  }
  ReadSecAggTable(root, *s, s->secagg);
  if (s->async_mode() && s->secagg.enabled) {
    root.Section("secagg").Error(
        "secure aggregation masks a fixed cohort within a round; it is not available with federation.mode = \"async\"");
  }
}

const std::vector<std::string>& SimulationTables() {
  static const auto* const kTables = new std::vector<std::string>{
      "population", "data", "devices", "run", "attack", "drift", "variant", "base_variant"};
  return *kTables;
}

const std::vector<std::string>& ServiceTables() {
  static const auto* const kTables = new std::vector<std::string>{"server", "evaluation"};
  return *kTables;
}

std::vector<std::string> SkipTables(ConfigSection root, const std::vector<std::string>& tables) {
  std::vector<std::string> skipped;
  for (const std::string& table : tables) {
    if (!root.Has(table)) continue;
    root.Ignore(table);
    skipped.push_back(table);
  }
  return skipped;
}

int64_t UpdatesPerRound(const FederationSettings& s, int64_t population) {
  const FederationSettings::Federation& f = s.federation;
  if (s.async_mode()) return s.async.buffer_size;  // one server step's updates
  if (f.fraction <= 0) return population > 0 ? std::min(f.devices_per_round, population) : f.devices_per_round;
  const int64_t n = population > 0 ? population : f.min_devices;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(f.fraction * static_cast<double>(n))));
}

double DeviceSamplingRate(const FederationSettings& s, int64_t population) {
  if (s.client_dp.sampling_rate > 0) return s.client_dp.sampling_rate;
  const int64_t n = population > 0 ? population : s.federation.min_devices;
  // Async: a server step takes buffer_size updates, at most one per device
  // (privacy/README.md, "Asynchronous mode").
  const double selected =
      s.async_mode() ? static_cast<double>(s.async.buffer_size)
                     : std::ceil(static_cast<double>(UpdatesPerRound(s, population)) * s.federation.over_selection);
  return std::clamp(selected / static_cast<double>(n), 1.0 / static_cast<double>(n), 1.0);
}

uint64_t SeedFor(const FederationSettings& s, SeedStream stream) {
  return DeriveSeed(s.seed, static_cast<uint64_t>(stream));
}

nlohmann::json FederationSettingsToJson(const FederationSettings& s) {
  const auto& f = s.federation;
  const auto& t = s.training;
  nlohmann::json j;
  j["name"] = s.name;
  j["seed"] = s.seed;
  j["model"] = {{"name", s.model.name},
                {"input_features", s.model.shape.input_features},
                {"num_classes", s.model.shape.num_classes}};
  j["federation"] = {{"rounds", f.rounds},
                     {"min_devices", f.min_devices},
                     {"devices_per_round", f.devices_per_round},
                     {"fraction", f.fraction},
                     {"over_selection", f.over_selection},
                     {"min_quorum", f.min_quorum},
                     {"round_deadline_s", f.round_deadline_s},
                     {"poll_interval_ms", f.poll_interval_ms},
                     {"evaluate_every", f.evaluate_every},
                     {"download_chunk_bytes", f.download_chunk_bytes},
                     {"max_update_norm", f.max_update_norm},
                     {"max_examples", f.max_examples},
                     {"favour_drifting", f.favour_drifting},
                     {"extra_round_drift_fraction", f.extra_round_drift_fraction},
                     {"max_extra_rounds", f.max_extra_rounds}};
  j["training"] = {{"local_epochs", t.local_epochs}, {"batch_size", t.batch_size},
                   {"learning_rate", t.learning_rate}, {"momentum", t.momentum},
                   {"weight_decay", t.weight_decay}, {"optimizer", t.optimizer},
                   {"codec", t.codec}, {"max_examples", t.max_examples},
                   {"update_clip_norm", t.update_clip_norm}};
  nlohmann::json strategy = {{"name", s.strategy.name}};
  for (const auto& [key, value] : s.strategy.options) strategy[key] = value;
  j["strategy"] = strategy;
  if (s.dp.enabled) {
    j["dp"] = {{"noise_multiplier", s.dp.noise_multiplier}, {"clip_norm", s.dp.clip_norm},
               {"device_epsilon", s.dp.device_epsilon}, {"delta", s.dp.delta}};
  }
  if (s.client_dp.enabled) {
    const ClientDpSettings& c = s.client_dp;
    j["client_dp"] = {{"clip_norm", c.clip_norm}, {"noise_multiplier", c.noise_multiplier},
                      {"adaptive", c.adaptive}, {"target_quantile", c.target_quantile},
                      {"clip_learning_rate", c.clip_learning_rate}, {"count_noise", c.count_noise},
                      {"sampling_rate", c.sampling_rate}, {"delta", c.delta}};
  }
  if (s.deploy.enabled()) {
    const DeploySettings& d = s.deploy;
    j["deploy"] = {{"every_rounds", d.every_rounds}, {"student", d.student},
                   {"temperature", d.temperature}, {"epochs", d.epochs},
                   {"batch_size", d.batch_size}, {"learning_rate", d.learning_rate},
                   {"proxy_data", d.proxy_data}, {"proxy_examples", d.proxy_examples},
                   {"prune_fraction", d.prune_fraction}, {"warm_start", d.warm_start},
                   {"threads", d.threads}};
    if (d.test_degrade_from_version > 0) j["deploy"]["test_degrade_from_version"] = d.test_degrade_from_version;
  }
  // Only an async run names its mode, so a sync run's JSON (and its stored
  // run configuration) is what it was before the mode existed.
  if (s.async_mode()) {
    j["federation"]["mode"] = f.mode;
    j["async"] = AsyncSettingsToJson(s.async);
  }
  if (s.secagg.enabled) {
    const SecAggSettings& a = s.secagg;
    j["secagg"] = {{"neighbours", a.neighbours}, {"threshold", a.threshold}, {"stage_timeout_s", a.stage_timeout_s},
                   {"coordinate_range", a.coordinate_range}};
  }
  if (s.rollout.enabled) {
    const RolloutSettings& r = s.rollout;
    j["rollout"] = {{"fractions", r.fractions}, {"min_devices", r.min_devices}, {"soak_s", r.soak_s},
                    {"max_failure_share", r.max_failure_share}, {"min_accuracy", r.min_accuracy},
                    {"max_inference_error_share", r.max_inference_error_share},
                    {"max_drift_increase", r.max_drift_increase}};
  }
  return j;
}

}  // namespace fedge
