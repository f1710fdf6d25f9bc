#include "coordinator/coordinator_config.h"

#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/config.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

void ReadServer(ConfigSection s, CoordinatorConfig& c) {
  s.Read("listen", &c.listen);
  s.Read("tls_cert", &c.tls_cert);
  s.Read("tls_key", &c.tls_key);
  s.Read("generate_dev_tls", &c.generate_dev_tls);
  s.Read("client_ca", &c.client_ca);
  s.Read("admin_cn", &c.admin_cn);
  s.Read("signing_key", &c.signing_key);
  s.Read("generate_signing_key", &c.generate_signing_key);
  s.Read("public_key", &c.public_key);
  s.Read("tick_interval_ms", &c.tick_interval_ms, 1, 3'600'000);
  s.Read("exit_when_finished", &c.exit_when_finished);
  s.Read("shutdown_grace_s", &c.shutdown_grace_s, 0, 3600);
  s.Read("rounds_csv", &c.rounds_csv);
  s.Read("max_message_bytes", &c.max_message_bytes, 64 << 10, 1 << 30);
  s.Read("log_level", &c.log_level, {"debug", "info", "warning", "error"});
}

void ReadModelAndEvaluation(ConfigSection model, ConfigSection eval, CoordinatorConfig& c) {
  model.Read("name", &c.federation.architecture);
  model.Read("seed", &c.model_seed, 0, kMaxInt64);
  model.Read("model_id", &c.federation.model_id);
  eval.Read("data", &c.eval_data);
  eval.Read("batch_size", &c.eval_batch_size, 1, 1 << 20);
  eval.Read("threads", &c.eval_threads, 0, 1024);
}

void ReadFederation(ConfigSection s, FederationOptions& f) {
  s.Read("rounds", &f.max_rounds, 0, kMaxInt64);
  s.Read("min_devices", &f.min_devices, 1, kMaxInt64);
  s.Read("devices_per_round", &f.devices_per_round, 1, kMaxInt64);
  s.Read("fraction", &f.fraction, 0, 1);
  s.Read("over_selection", &f.over_selection, 1, 10);
  s.Read("min_quorum", &f.min_quorum, 1, kMaxInt64);
  double deadline_s = absl::ToDoubleSeconds(f.round_deadline);
  s.Read("round_deadline_s", &deadline_s, 1e-3, 1e7);
  f.round_deadline = absl::Seconds(deadline_s);
  int64_t poll_ms = absl::ToInt64Milliseconds(f.poll_interval);
  s.Read("poll_interval_ms", &poll_ms, 1, 86'400'000);
  f.poll_interval = absl::Milliseconds(poll_ms);
  s.Read("evaluate_every", &f.evaluate_every, 0, kMaxInt64);
  int64_t seed = static_cast<int64_t>(f.seed);
  s.Read("seed", &seed, 0, kMaxInt64);
  f.seed = static_cast<uint64_t>(seed);
  int64_t chunk = f.download_chunk_bytes;
  s.Read("download_chunk_bytes", &chunk, 1024, 256 << 20);
  f.download_chunk_bytes = static_cast<uint32_t>(chunk);
  s.Read("max_update_norm", &f.limits.max_l2_norm, 0, std::numeric_limits<double>::max());
  int64_t max_examples = static_cast<int64_t>(f.limits.max_examples);
  s.Read("max_examples", &max_examples, 0, kMaxInt64);
  f.limits.max_examples = static_cast<uint64_t>(max_examples);
}

void ReadTrain(ConfigSection s, proto::TrainConfig& t) {
  // Proto setters need temporaries: ConfigSection writes through pointers.
  int local_epochs = t.local_epochs(), batch_size = t.batch_size();
  double lr = t.learning_rate(), momentum = t.momentum(), weight_decay = t.weight_decay();
  double dp_noise = t.dp_noise_multiplier(), dp_clip = t.dp_clip_norm(), update_clip = t.update_clip_norm();
  int64_t max_examples = t.max_examples();
  std::string optimizer = t.optimizer(), codec = t.codec();
  s.Read("local_epochs", &local_epochs, 1, 1000);
  s.Read("batch_size", &batch_size, 1, 1 << 20);
  s.Read("learning_rate", &lr, 0, 100);
  s.Read("momentum", &momentum, 0, 1);
  s.Read("weight_decay", &weight_decay, 0, 1);
  s.Read("optimizer", &optimizer, {"sgd", "adam"});
  s.Read("codec", &codec);
  s.Read("max_examples", &max_examples, 0, kMaxInt64);
  s.Read("dp_noise_multiplier", &dp_noise, 0, 1e3);
  s.Read("dp_clip_norm", &dp_clip, 0, 1e6);
  s.Read("update_clip_norm", &update_clip, 0, 1e6);
  t.set_local_epochs(local_epochs);
  t.set_batch_size(batch_size);
  t.set_learning_rate(lr);
  t.set_momentum(momentum);
  t.set_weight_decay(weight_decay);
  t.set_optimizer(optimizer);
  t.set_codec(codec);
  t.set_max_examples(max_examples);
  t.set_dp_noise_multiplier(dp_noise);
  t.set_dp_clip_norm(dp_clip);
  t.set_update_clip_norm(update_clip);
}

void ReadStrategy(ConfigSection s, StrategySpec& spec) {
  if (std::optional<StrategySpec> read = ReadStrategyTable(s)) spec = *std::move(read);
}

void ReadDeploy(ConfigSection s, DeployConfig& d) {
  s.Read("every_rounds", &d.every_rounds, 0, kMaxInt64);
  s.Read("student", &d.student);
  s.Read("temperature", &d.temperature, 1e-3, 1e3);
  s.Read("epochs", &d.epochs, 1, 1000);
  s.Read("batch_size", &d.batch_size, 1, 1 << 20);
  s.Read("learning_rate", &d.learning_rate, 1e-9, 10);
  s.Read("proxy_data", &d.proxy_data);
  s.Read("proxy_examples", &d.proxy_examples, 1, kMaxInt64);
  s.Read("prune_fraction", &d.prune_fraction, 0, 0.99);
  s.Read("warm_start", &d.warm_start);
  s.Read("threads", &d.threads, 0, 1024);
}

absl::Status ReadConfig(ConfigFile& file, CoordinatorConfig* config) {
  ConfigSection root = file.root();
  ReadServer(root.Section("server"), *config);
  ReadModelAndEvaluation(root.Section("model"), root.Section("evaluation"), *config);
  ReadFederation(root.Section("federation"), config->federation);
  ReadTrain(root.Section("train"), config->federation.train);
  ReadStrategy(root.Section("strategy"), config->strategy);
  ReadDeploy(root.Section("deploy"), config->deploy);
  ReadStateTable(root.Section("state"), &config->state);
  return file.Finish();
}

// Ranges are also enforced when reading the file; repeated here because
// flags and programmatic configs bypass the reader.
absl::Status ValidateDeployConfig(const DeployConfig& d) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat("deploy.", parts...)); };
  if (d.every_rounds < 0) return bad("every_rounds (--deploy-every) must be >= 0 (0 never deploys)");
  if (d.every_rounds == 0) return absl::OkStatus();
  if (d.proxy_data.empty()) {
    return bad("proxy_data must name a Fashion-MNIST directory: its training images are the distillation proxy set "
               "and its test split measures the deployed model");
  }
  if (d.student.empty()) return bad("student must name a zoo architecture, e.g. \"cnn_student\"");
  if (!(d.temperature > 0)) return bad("temperature must be > 0, got ", d.temperature);
  if (d.epochs < 1) return bad("epochs must be >= 1, got ", d.epochs);
  if (d.batch_size < 1) return bad("batch_size must be >= 1, got ", d.batch_size);
  if (!(d.learning_rate > 0)) return bad("learning_rate must be > 0, got ", d.learning_rate);
  if (d.proxy_examples < 1) return bad("proxy_examples must be >= 1, got ", d.proxy_examples);
  if (!(d.prune_fraction >= 0 && d.prune_fraction < 1)) return bad("prune_fraction must be in [0, 1), got ", d.prune_fraction);
  if (d.threads < 0) return bad("threads must be >= 0 (0: LibTorch's default), got ", d.threads);
  return absl::OkStatus();
}

}  // namespace

FederationOptions DefaultFederationOptions() {
  FederationOptions options;
  options.train.set_local_epochs(1);
  options.train.set_batch_size(32);
  options.train.set_learning_rate(0.05);
  options.train.set_optimizer("sgd");
  options.train.set_codec("fp32");
  return options;
}

CoordinatorConfig::CoordinatorConfig() : federation(DefaultFederationOptions()) {}

absl::Status ParseCoordinatorConfig(std::string_view toml, std::string_view source, CoordinatorConfig* config) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Parse(toml, source));
  return ReadConfig(file, config);
}

absl::Status LoadCoordinatorConfig(const std::string& path, CoordinatorConfig* config) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Load(path));
  return ReadConfig(file, config);
}

absl::Status ValidateCoordinatorConfig(const CoordinatorConfig& c) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return bad("give both --tls-cert and --tls-key (server.tls_cert / server.tls_key), or neither");
  }
  if (!c.tls_cert.empty() && !c.generate_dev_tls.empty()) {
    return bad("give either --tls-cert/--tls-key or --generate-dev-tls DIR, not both");
  }
  if (c.tls_cert.empty() && c.generate_dev_tls.empty()) {
    return bad("no TLS material: set --tls-cert and --tls-key, or --generate-dev-tls DIR for a development pair");
  }
  if (!c.admin_cn.empty() && c.client_ca.empty()) {
    return bad("--admin-cn (server.admin_cn) needs --client-ca (server.client_ca): without mutual TLS there is no "
               "client certificate to check");
  }
  if (c.signing_key.empty() && c.public_key.empty()) {
    return bad("without --signing-key the signing key is ephemeral; set --public-key PATH so devices can pin it");
  }
  if (c.generate_signing_key && c.signing_key.empty()) {
    return bad("--generate-signing-key needs --signing-key PATH to write the key to");
  }
  if (c.exit_when_finished && c.federation.max_rounds == 0) {
    return bad("--exit-when-finished needs a round limit (--rounds N, federation.rounds)");
  }
  if (c.tick_interval_ms < 1) return bad("tick_interval_ms must be >= 1");
  if (static_cast<int64_t>(c.federation.download_chunk_bytes) + 1024 > c.max_message_bytes) {
    return bad("download_chunk_bytes (", c.federation.download_chunk_bytes,
               ") + 1 KiB of framing exceeds max_message_bytes (", c.max_message_bytes, ")");
  }
  if (c.federation.architecture.empty()) return bad("model.name (--model) must name a zoo architecture");
  FEDGE_RETURN_IF_ERROR(ValidateDeployConfig(c.deploy));
  return ValidateFederationOptions(c.federation);
}

}  // namespace fedge
