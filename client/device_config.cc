#include "client/device_config.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <unordered_set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/config.h"
#include "core/random.h"
#include "core/status.h"
#include "core/strings.h"
#include "settings/renamed_keys.h"

namespace fedge {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

// Reads an unsigned 64-bit value stored as a TOML integer (TOML has no
// unsigned type), keeping `*out` when absent.
void ReadU64(ConfigSection& section, std::string_view key, uint64_t* out) {
  int64_t v = static_cast<int64_t>(std::min<uint64_t>(*out, kMaxInt));
  section.Read(key, &v, 0, kMaxInt);
  *out = static_cast<uint64_t>(v);
}

void ReadMillis(ConfigSection& section, std::string_view key, absl::Duration* out) {
  int64_t ms = absl::ToInt64Milliseconds(*out);
  section.Read(key, &ms, 0, int64_t{24} * 3600 * 1000);
  *out = absl::Milliseconds(ms);
}

void ReadCsvTable(ConfigSection csv, CsvFormat* f) {
  csv.Read("label_column", &f->label_column, -1, int64_t{1} << 20);
  std::string delimiter(1, f->delimiter == '\t' ? 't' : f->delimiter);
  if (f->delimiter == '\t') delimiter = "\t";
  csv.Read("delimiter", &delimiter, {",", ";", "\t", " "});
  f->delimiter = delimiter == "\t" ? '\t' : delimiter[0];
  csv.Read("header", &f->header);
  csv.Read("feature_scale", &f->feature_scale, 1e-30, 1e30);
  csv.Read("max_line_bytes", &f->max_line_bytes, 16, int64_t{64} << 20);
}

void ReadDataTable(ConfigSection data, DeviceDataConfig* d) {
  data.Read("source", &d->source, {"files", "spool"});
  data.Read("format", &d->format, {"idx", "csv"});
  data.Read("path", &d->path);
  data.Read("dir", &d->dir);
  data.Read("shard", &d->shard, 0, kMaxInt);
  data.Read("num_shards", &d->num_shards, 1, kMaxInt);
  ReadU64(data, "shard_seed", &d->shard_seed);
  data.Read("index_file", &d->index_file);
  data.Read("max_file_bytes", &d->max_file_bytes, 1, int64_t{1} << 40);
  // The simulator's store keys, with its reader (client/drift_settings.h).
  ReadDataStoreKeys(data, &d->store);
  ReadCsvTable(data.Section("csv"), &d->csv);
  ReadPreprocessTable(data.Section("preprocess"), &d->preprocess);
}

void ReadConfig(ConfigSection root, DeviceConfig* c) {
  root.Read("device_id", &c->device.device_id);
  ReadU64(root, "seed", &c->device.seed);
  root.Read("log_level", &c->log_level, {"debug", "info", "warning", "error"});
  root.Read("state_dir", &c->device.state_dir);
  root.Read("state_key_file", &c->state_key_file);
  root.Read("inference_dir", &c->inference_dir);
  root.Read("inference_socket", &c->inference_socket);
  root.Read("inference_health_examples", &c->inference_health_examples, 0, 1'000'000);
  root.Read("inference_min_accuracy", &c->inference_min_accuracy, 0, 1);

  // The device's keys of the shared schema (settings/federation_settings.h).
  RefuseRenamedKeys(root);
  FederationSettings::Model model{.name = c->trainer.architecture, .shape = c->trainer.shape};
  ReadModelTable(root.Section("model"), {}, &model);
  c->trainer.architecture = model.name;
  c->trainer.shape = model.shape;
  ConfigSection dp = root.Section("dp");
  ReadDeviceBudget(dp, &c->dp);
  dp.Read("ledger", &c->privacy_ledger_path);

  ConfigSection coordinator = root.Section("coordinator");
  coordinator.Read("address", &c->address);
  coordinator.Read("root_cert", &c->root_cert_path);
  coordinator.Read("tls_cert", &c->tls_cert_path);
  coordinator.Read("tls_key", &c->tls_key_path);
  coordinator.Read("public_key", &c->public_key_path);
  coordinator.Read("ssl_target_name_override", &c->ssl_target_name_override);
  double timeout = absl::ToDoubleSeconds(c->rpc_timeout);
  coordinator.Read("rpc_timeout_seconds", &timeout, 0.001, 3600);
  c->rpc_timeout = absl::Seconds(timeout);
  coordinator.Read("transport", &c->transport, {"grpc", "mqtt"});
  ReadMqttTable(root.Section("mqtt"), &c->mqtt);

  ReadDataTable(root.Section("data"), &c->data);
  if (root.Has("drift")) c->drift.enabled = true;  // the table turns monitoring on
  ConfigSection drift = root.Section("drift");
  drift.Read("enabled", &c->drift.enabled);
  ReadDeviceDriftKeys(drift, &c->drift.settings);

  ConfigSection transfer = root.Section("transfer");
  int64_t down = c->device.download_chunk_bytes, up = c->device.upload_chunk_bytes;
  transfer.Read("download_chunk_bytes", &down, 1, int64_t{64} << 20);
  transfer.Read("upload_chunk_bytes", &up, 1, int64_t{64} << 20);
  c->device.download_chunk_bytes = static_cast<uint32_t>(down);
  c->device.upload_chunk_bytes = static_cast<uint32_t>(up);
  ReadU64(transfer, "max_model_bytes", &c->device.max_model_bytes);

  ConfigSection retry = root.Section("retry");
  ReadMillis(retry, "initial_backoff_ms", &c->device.retry.initial_backoff);
  ReadMillis(retry, "max_backoff_ms", &c->device.retry.max_backoff);
  retry.Read("multiplier", &c->device.retry.multiplier, 1, 100);
  retry.Read("jitter", &c->device.retry.jitter, 0, 0.99);
  retry.Read("max_attempts", &c->device.retry.max_attempts, 1, 1000);

  ConfigSection conditions = root.Section("conditions");
  DeviceConditionsOptions& when = c->conditions;
  conditions.Read("min_battery_percent", &when.min_battery_percent, 0, 100);
  conditions.Read("require_mains", &when.require_mains);
  conditions.Read("max_load_per_core", &when.max_load_per_core, 0, 1e6);
  conditions.Read("metered", &when.metered);
  conditions.Read("train_on_metered", &when.train_on_metered);
  conditions.Read("power_supply_dir", &when.power_supply_dir);
  double separation_s = absl::ToDoubleSeconds(c->device.min_participation_interval);
  conditions.Read("min_separation_s", &separation_s, 0, 1e9);
  c->device.min_participation_interval = absl::Seconds(separation_s);

  ConfigSection outbox = root.Section("outbox");
  outbox.Read("max_records", &c->device.outbox_max_records, 0, 1 << 20);
  ReadU64(outbox, "max_bytes", &c->device.outbox_max_bytes);

  ConfigSection run = root.Section("run");
  run.Read("torch_threads", &c->trainer.torch_threads, 0, 1024);
  run.Read("max_tasks", &c->run.max_tasks, 0, kMaxInt);
  run.Read("max_idle_polls", &c->run.max_idle_polls, 0, kMaxInt);
  run.Read("max_consecutive_failures", &c->run.max_consecutive_failures, 0, kMaxInt);
}

absl::Status ValidateDataConfig(const DeviceDataConfig& d) {
  if (d.source != "files" && d.source != "spool") {
    return absl::InvalidArgumentError(absl::StrCat("data.source (--data-source) must be files or spool, got \"",
                                                   d.source, "\""));
  }
  if (d.format != "idx" && d.format != "csv") {
    return absl::InvalidArgumentError(absl::StrCat("data.format (--data-format) must be idx or csv, got \"",
                                                   d.format, "\""));
  }
  if (d.source == "spool" && d.format != "csv") {
    return absl::InvalidArgumentError(
        "data.source = \"spool\" reads CSV files: set data.format = \"csv\" (--data-format csv)");
  }
  if (d.format == "csv" && d.path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("data.path (--data-path) must name the ",
                                                   d.source == "spool" ? "spool directory" : "CSV file"));
  }
  if (d.format == "idx" && !d.path.empty()) {
    return absl::InvalidArgumentError(
        "data.path is for csv files and spools; IDX images are read from data.dir (--data-dir)");
  }
  if (d.store.window < 0 || d.store.reservoir < 0 || d.store.train_examples < 0) {
    return absl::InvalidArgumentError("data.window, data.reservoir and data.train_examples must be >= 0");
  }
  return absl::OkStatus();
}

}  // namespace

DeviceConfig DefaultDeviceConfig() {
  DeviceConfig config;
  config.device.device_id = "device-0";
  config.device.outbox_max_records = 16;  // in effect with a state_dir
  return config;
}

absl::Status LoadDeviceConfig(const std::string& path, DeviceConfig* config) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Load(path));
  ReadConfig(file.root(), config);
  return file.Finish();
}

absl::Status ParseDeviceConfig(std::string_view text, std::string_view source, DeviceConfig* config) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Parse(text, source));
  ReadConfig(file.root(), config);
  return file.Finish();
}

absl::Status ValidateDeviceConfig(const DeviceConfig& c) {
  DeviceOptions device = c.device;
  device.state_dir.clear();  // its key is loaded from state_key_file at start
  device.outbox_max_records = 0;  // kept in state_dir, when there is one
  FEDGE_RETURN_IF_ERROR(ValidateDeviceOptions(device));
  if (c.transport != "grpc" && c.transport != "mqtt") {
    return absl::InvalidArgumentError(
        absl::StrCat("coordinator.transport (--transport) is \"", c.transport, "\"; use \"grpc\" or \"mqtt\""));
  }
  if (c.transport == "grpc" && c.address.empty()) {
    return absl::InvalidArgumentError("coordinator.address must not be empty");
  }
  if (c.transport == "mqtt" && c.mqtt.broker.empty()) {
    return absl::InvalidArgumentError(
        "coordinator.transport = \"mqtt\" needs mqtt.broker (--mqtt-broker), e.g. ssl://broker.example:8883");
  }
  if (c.public_key_path.empty()) {
    return absl::InvalidArgumentError(
        "coordinator.public_key (--coordinator-key) is required: the device refuses models it cannot verify");
  }
  if (c.tls_cert_path.empty() != c.tls_key_path.empty()) {
    return absl::InvalidArgumentError(
        "coordinator.tls_cert and coordinator.tls_key (--tls-cert/--tls-key) go together: give both or neither");
  }
  FEDGE_RETURN_IF_ERROR(ValidateDataConfig(c.data));
  if (c.data.format == "idx" && c.data.index_file.empty() && (c.data.shard < 0 || c.data.shard >= c.data.num_shards)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data.shard must be in [0, ", c.data.num_shards, "), got ", c.data.shard));
  }
  if (c.trainer.torch_threads < 0) return absl::InvalidArgumentError("run.torch_threads must be >= 0");
  FEDGE_RETURN_IF_ERROR(ValidateDeviceConditionsOptions(c.conditions));
  if (!c.inference_socket.empty() && c.inference_dir.empty()) {
    return absl::InvalidArgumentError(
        "inference_socket (--inference-socket) serves the deployed model: set inference_dir (--inference-dir) too");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> IidShard(int64_t num_examples, int64_t shard, int64_t num_shards,
                                              uint64_t seed) {
  if (num_shards < 1 || num_shards > num_examples || shard < 0 || shard >= num_shards) {
    return absl::InvalidArgumentError(absl::StrCat("cannot take shard ", shard, " of ", num_shards, " from ",
                                                   num_examples, " examples"));
  }
  std::vector<int64_t> order(num_examples);
  std::iota(order.begin(), order.end(), 0);
  SeededRandom rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  // Boundaries i * n / k give shard sizes that differ by at most one.
  const int64_t begin = shard * num_examples / num_shards;
  const int64_t end = (shard + 1) * num_examples / num_shards;
  std::vector<int64_t> out(order.begin() + begin, order.begin() + end);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<int64_t>> ParseIndexList(std::string_view text, int64_t num_examples) {
  std::vector<int64_t> out;
  std::unordered_set<int64_t> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    const char ch = text[pos];
    if (ch == '#') {
      pos = text.find('\n', pos);
      if (pos == std::string_view::npos) break;
      continue;
    }
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == ',') {
      ++pos;
      continue;
    }
    const size_t end = text.find_first_of(" \t\r\n,#", pos);
    const std::string_view token = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
    int64_t index = 0;
    if (!absl::SimpleAtoi(AsAbsl(token), &index)) {
      return absl::InvalidArgumentError(absl::StrCat("index list: '", AsAbsl(token), "' is not an integer"));
    }
    if (index < 0 || index >= num_examples) {
      return absl::InvalidArgumentError(
          absl::StrCat("index list: ", index, " is outside the dataset of ", num_examples, " examples"));
    }
    if (!seen.insert(index).second) {
      return absl::InvalidArgumentError(absl::StrCat("index list: ", index, " appears twice"));
    }
    out.push_back(index);
    pos += token.size();
  }
  if (out.empty()) return absl::InvalidArgumentError("index list: no indices");
  return out;
}

}  // namespace fedge
