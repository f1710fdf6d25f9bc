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

void ReadConfig(ConfigSection root, DeviceConfig* c) {
  root.Read("device_id", &c->device.device_id);
  ReadU64(root, "seed", &c->device.seed);
  root.Read("log_level", &c->log_level, {"debug", "info", "warning", "error"});
  root.Read("state_dir", &c->device.state_dir);
  root.Read("state_key_file", &c->state_key_file);
  root.Read("inference_dir", &c->inference_dir);
  root.Read("inference_socket", &c->inference_socket);

  // The device's keys of the shared schema (settings/federation_settings.h).
  RefuseRenamedKeys(root);
  ReadModelName(root.Section("model"), {}, &c->trainer.architecture);
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

  ConfigSection data = root.Section("data");
  data.Read("dir", &c->data.dir);
  data.Read("shard", &c->data.shard, 0, kMaxInt);
  data.Read("num_shards", &c->data.num_shards, 1, kMaxInt);
  ReadU64(data, "shard_seed", &c->data.shard_seed);
  data.Read("index_file", &c->data.index_file);

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
  if (c.address.empty()) return absl::InvalidArgumentError("coordinator.address must not be empty");
  if (c.public_key_path.empty()) {
    return absl::InvalidArgumentError(
        "coordinator.public_key (--coordinator-key) is required: the device refuses models it cannot verify");
  }
  if (c.tls_cert_path.empty() != c.tls_key_path.empty()) {
    return absl::InvalidArgumentError(
        "coordinator.tls_cert and coordinator.tls_key (--tls-cert/--tls-key) go together: give both or neither");
  }
  if (c.data.index_file.empty() && (c.data.shard < 0 || c.data.shard >= c.data.num_shards)) {
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
