#include "coordinator/coordinator_config.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "coordinator/federation_setup.h"
#include "core/config.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {
namespace {

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
  s.Read("metrics_listen", &c.metrics_listen);
  s.Read("device_offline_after_s", &c.device_offline_after_s, 1, 365.0 * 24 * 3600);
  s.Read("max_message_bytes", &c.max_message_bytes, 64 << 10, 1 << 30);
  s.Read("log_level", &c.log_level, {"debug", "info", "warning", "error"});
}

void ReadEvaluation(ConfigSection eval, CoordinatorConfig& c) {
  eval.Read("data", &c.eval_data);
  eval.Read("batch_size", &c.eval_batch_size, 1, 1 << 20);
  eval.Read("threads", &c.eval_threads, 0, 1024);
}

void ReadEnrolment(ConfigSection e, CoordinatorConfig& c) {
  e.Read("ca_key", &c.enrol_ca_key);
  e.Read("require_approval", &c.enrol_require_approval);
  e.Read("certificate_days", &c.enrol_certificate_days, 1, 3650);
  e.Read("crl", &c.enrol_crl);
}

absl::Status ReadConfig(ConfigFile& file, const SettingsChecks& checks, CoordinatorConfig* config) {
  ConfigSection root = file.root();
  for (const std::string& table : SkipTables(root, SimulationTables())) {
    FEDGE_LOG(INFO) << "config: skipping '" << table << "', which only fedge-sim reads";
  }
  ReadServer(root.Section("server"), *config);
  ReadEvaluation(root.Section("evaluation"), *config);
  ReadStateTable(root.Section("state"), &config->state);
  ReadEnrolment(root.Section("enrolment"), *config);
  ReadMqttTable(root.Section("mqtt"), &config->mqtt);
  ReadFederationSettings(root, checks, &config->settings);
  return file.Finish();
}

// Ranges are also enforced when reading the file; repeated here because
// flags and programmatic configs bypass the reader.
absl::Status ValidateDeploySettings(const DeploySettings& d) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat("deploy.", parts...)); };
  if (d.every_rounds < 0) return bad("every_rounds (--deploy-every) must be >= 0 (0 never deploys)");
  if (d.every_rounds == 0) return absl::OkStatus();
  if (d.proxy_data.empty()) return bad("proxy_data must name a Fashion-MNIST directory");
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

absl::Status ParseCoordinatorConfig(std::string_view toml, std::string_view source, CoordinatorConfig* config,
                                    const SettingsChecks& checks) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Parse(toml, source));
  return ReadConfig(file, checks, config);
}

absl::Status LoadCoordinatorConfig(const std::string& path, CoordinatorConfig* config, const SettingsChecks& checks) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Load(path));
  return ReadConfig(file, checks, config);
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
  if (!c.enrol_ca_key.empty() && c.client_ca.empty()) {
    return bad("enrolment (--device-ca-key, enrolment.ca_key) needs --client-ca (server.client_ca): the device CA's "
               "certificate, which enrolled devices are verified against");
  }
  if (!c.enrol_ca_key.empty() && c.state.dir.empty()) {
    return bad("enrolment (--device-ca-key, enrolment.ca_key) needs --state DIR: tokens, enrolments and revocations "
               "must survive a restart");
  }
  if (c.enrol_ca_key.empty() && (c.enrol_require_approval || !c.enrol_crl.empty())) {
    return bad("enrolment.require_approval and enrolment.crl need enrolment.ca_key (--device-ca-key)");
  }
  if (c.enrol_certificate_days < 1 || c.enrol_certificate_days > 3650) {
    return bad("enrolment.certificate_days must be 1 to 3650, got ", c.enrol_certificate_days);
  }
  if (!c.mqtt.broker.empty() && (c.mqtt.ca.empty() || c.mqtt.cert.empty() || c.mqtt.key.empty())) {
    return bad("mqtt.broker (--mqtt-broker) needs mqtt.ca, mqtt.cert and mqtt.key (--mqtt-ca, --mqtt-cert, "
               "--mqtt-key): the broker's CA and the coordinator's client certificate (CN fedge-coordinator)");
  }
  const FederationSettings& f = c.settings;
  if (c.exit_when_finished && f.federation.rounds == 0) {
    return bad("--exit-when-finished needs a round limit (--rounds N, federation.rounds)");
  }
  if (c.tick_interval_ms < 1) return bad("tick_interval_ms must be >= 1");
  if (f.federation.download_chunk_bytes + 1024 > c.max_message_bytes) {
    return bad("download_chunk_bytes (", f.federation.download_chunk_bytes,
               ") + 1 KiB of framing exceeds max_message_bytes (", c.max_message_bytes, ")");
  }
  if (f.model.name.empty()) return bad("model.name (--model) must name a zoo architecture");
  FEDGE_RETURN_IF_ERROR(ValidateDeploySettings(f.deploy));
  FederationOptions options = MakeFederationOptions(f, /*population=*/0);
  options.deploy_every = 0;  // the deployer it needs is built at start-up, from deploy.* checked above
  return ValidateFederationOptions(options);
}

}  // namespace fedge
