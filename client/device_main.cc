// fedge-device: runs one federated-learning device against a coordinator
// over gRPC with TLS (mutual TLS with --tls-cert/--tls-key), or through an
// MQTT broker (--transport mqtt, mqtt/README.md). Configuration
// comes from an optional TOML file (client/device_config.h) and flags, which
// override the file. The device trains on the examples of its data source
// (a Fashion-MNIST shard, a CSV file or a spool directory), preprocessed
// into its bounded store, watches new data for drift and reports alarms
// (client/device_data_setup.h), and exits when a limit is reached, the
// coordinator reports the federation finished, or on SIGINT/SIGTERM. See
// client/README.md. `fedge-device enroll --token T ...` gets the device's
// certificate first (client/enrol_client.h).
#include <atomic>
#include <cfloat>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "client/device.h"
#include "client/device_conditions.h"
#include "client/device_config.h"
#include "client/device_data_setup.h"
#include "client/device_pipeline.h"
#include "client/enrol_client.h"
#include "client/grpc_transport.h"
#include "client/inference_health.h"
#include "client/inference_server.h"
#include "client/trainer.h"
#include "mqtt/mqtt_transport.h"
#include "core/config.h"
#include "core/file_util.h"
#include "core/idx.h"
#include "core/logging.h"
#include "core/malloc_tuning.h"
#include "core/sealing.h"
#include "core/signing.h"
#include "core/status.h"
#include "core/tls.h"
#include "inference/model_slot.h"
#include "privacy/privacy_ledger.h"

namespace fedge {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

// The persisted slot the device serves deployed models from, or null
// without an inference_dir. Models stored by an earlier run are re-verified
// against the pinned key and served again.
absl::StatusOr<std::unique_ptr<ModelSlot>> OpenInferenceSlot(const DeviceConfig& config, const VerifyKey& key) {
  if (config.inference_dir.empty()) return nullptr;
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelSlot> slot, ModelSlot::Open(config.inference_dir, key, {}));
  const std::optional<uint64_t> version = slot->active_version();
  FEDGE_LOG(INFO) << config.device.device_id << ": inference slot " << config.inference_dir << ": "
                  << (version ? absl::StrCat("serving deployed model ", *version) : "no deployed model yet");
  return slot;
}

// A coordinator with a client CA (and the MQTT broker's ACL) knows a device
// only as its certificate's CN; say so now instead of failing each call.
absl::Status CheckCertificateNamesDevice(const DeviceConfig& config, const std::string& cert_path) {
  if (cert_path.empty()) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(cert_path));
  FEDGE_ASSIGN_OR_RETURN(std::string common_name, CertCommonName(cert_pem));
  if (common_name != config.device.device_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device_id \"", config.device.device_id, "\" differs from the common name \"", common_name, "\" of ",
        cert_path, "; the coordinator binds a device to its certificate, so use --device-id ", common_name,
        " or that device's certificate"));
  }
  return absl::OkStatus();
}

// The MQTT transport: the broker of [mqtt], with the gRPC TLS files unless
// [mqtt] names its own; the client id is the device id (the broker's ACL
// lets the certificate's CN publish only under its own topics).
absl::StatusOr<std::unique_ptr<Transport>> MqttToCoordinator(const DeviceConfig& config) {
  mqtt::MqttTransportOptions options;
  const MqttSettings& m = config.mqtt;
  options.connection.broker = m.broker;
  options.connection.ca_pem_path = m.ca.empty() ? config.root_cert_path : m.ca;
  options.connection.cert_pem_path = m.cert.empty() ? config.tls_cert_path : m.cert;
  options.connection.key_pem_path = m.key.empty() ? config.tls_key_path : m.key;
  options.connection.client_id = config.device.device_id;
  options.connection.topic_prefix = m.topic_prefix;
  options.connection.session_expiry = absl::Seconds(m.session_expiry_s);
  options.connection.keep_alive = absl::Seconds(m.keep_alive_s);
  options.rpc_timeout = config.rpc_timeout;
  FEDGE_RETURN_IF_ERROR(CheckCertificateNamesDevice(config, options.connection.cert_pem_path));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<mqtt::MqttTransport> transport, mqtt::MqttTransport::Create(options));
  return std::unique_ptr<Transport>(std::move(transport));
}

// The coordinator connection. Made before the (slow) data loading so a bad
// client certificate fails at once rather than after minutes of setup.
absl::StatusOr<std::unique_ptr<Transport>> ConnectToCoordinator(const DeviceConfig& config) {
  if (config.transport == "mqtt") return MqttToCoordinator(config);
  GrpcTransportOptions options;
  options.target = config.address;
  options.root_cert_pem_path = config.root_cert_path;
  options.client_cert_pem_path = config.tls_cert_path;
  options.client_key_pem_path = config.tls_key_path;
  options.rpc_timeout = config.rpc_timeout;
  options.ssl_target_name_override = config.ssl_target_name_override;
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, CreateGrpcTransport(options));
  FEDGE_RETURN_IF_ERROR(CheckCertificateNamesDevice(config, config.tls_cert_path));
  return transport;
}

// The key that seals the device's files (state_dir, its outbox and the
// privacy ledger): state_key_file, or a file beside them; none when neither
// is kept.
struct DeviceKey {
  std::optional<SealingKey> key;
  bool created = false;  // made by this run: nothing was sealed with it before
};
absl::StatusOr<DeviceKey> LoadDeviceKey(const DeviceConfig& config) {
  const bool needed = !config.device.state_dir.empty() || !config.privacy_ledger_path.empty();
  if (!needed) return DeviceKey{};
  std::string path = config.state_key_file;
  if (path.empty()) {
    path = config.device.state_dir.empty() ? config.privacy_ledger_path + ".key" : config.device.state_dir + "/state.key";
    FEDGE_LOG(WARNING) << config.device.device_id << ": the sealing key is kept beside what it seals (" << path
                       << "); set state_key_file (--state-key-file) on other storage";
  }
  FileKeyProvider keys(path);
  FEDGE_ASSIGN_OR_RETURN(SealingKey key, keys.Key());
  return DeviceKey{.key = std::move(key), .created = keys.created()};
}

// The privacy ledger, or null without one. A ledger that cannot be trusted
// (altered, or missing beside an older key) does not stop the device: it
// sets `refusal`, and the device refuses DP tasks until an operator resets it.
absl::StatusOr<std::unique_ptr<PrivacyLedger>> OpenLedger(const DeviceConfig& config, const DeviceKey& key,
                                                          std::string& refusal) {
  if (config.privacy_ledger_path.empty()) return nullptr;
  const PrivacyBudget budget{.epsilon = config.dp.device_epsilon > 0 ? config.dp.device_epsilon : DBL_MAX,
                             .delta = config.dp.delta};
  absl::StatusOr<std::unique_ptr<PrivacyLedger>> ledger =
      PrivacyLedger::Open(config.privacy_ledger_path, budget, key.key, /*must_exist=*/!key.created);
  if (absl::IsDataLoss(ledger.status())) {
    refusal = absl::StrCat("privacy ledger not trusted, DP tasks refused: ", ledger.status().message());
    FEDGE_LOG(ERROR) << config.device.device_id << ": " << refusal;
    return nullptr;
  }
  if (!ledger.ok()) return ledger.status();
  FEDGE_LOG(INFO) << config.device.device_id << ": privacy ledger " << config.privacy_ledger_path << ", epsilon "
                  << (*ledger)->Epsilon() << " spent of " << budget.epsilon;
  return ledger;
}

// --reset-privacy-ledger: an operator's decision, after reviewing a device
// whose ledger was refused.
absl::Status ResetLedger(const DeviceConfig& config) {
  if (config.privacy_ledger_path.empty()) {
    return absl::InvalidArgumentError("--reset-privacy-ledger needs the ledger's path: [dp] ledger or --privacy-ledger");
  }
  FEDGE_ASSIGN_OR_RETURN(const DeviceKey key, LoadDeviceKey(config));
  FEDGE_RETURN_IF_ERROR(PrivacyLedger::Reset(config.privacy_ledger_path, *key.key));
  std::printf("%s: privacy ledger %s reset to an empty ledger\n", config.device.device_id.c_str(),
              config.privacy_ledger_path.c_str());
  return absl::OkStatus();
}

absl::Status RunDevice(const DeviceConfig& config) {
  FEDGE_RETURN_IF_ERROR(ValidateDeviceConfig(config));
  SetMinLogLevel(ParseLogLevel(config.log_level));
  FEDGE_ASSIGN_OR_RETURN(VerifyKey key, VerifyKey::FromPemFile(config.public_key_path));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, ConnectToCoordinator(config));

  // Source -> preprocessing -> store -> training sets, and drift monitoring.
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DevicePipeline> pipeline, CreateDevicePipeline(config, Clock::Real()));
  FEDGE_RETURN_IF_ERROR(pipeline->Step());  // a finite source is stored whole before the first poll
  // Battery, load and metered-link rules: before every poll, and between
  // training batches so a task stops as soon as they fail.
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DeviceConditions> conditions, LinuxDeviceConditions(config.conditions));
  TorchTrainerOptions trainer_options = config.trainer;
  trainer_options.between_batches = [&conditions] { return conditions->CheckBetweenBatches(); };
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<TorchTrainer> trainer, TorchTrainer::Create(trainer_options, pipeline.get()));

  DeviceOptions options = config.device;
  FEDGE_ASSIGN_OR_RETURN(const DeviceKey device_key, LoadDeviceKey(config));
  if (!options.state_dir.empty()) options.state_key = device_key.key;
  if (options.state_dir.empty()) options.outbox_max_records = 0;  // it lives in state_dir
  options.eligibility = [&conditions] { return conditions->Check(); };
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelSlot> slot, OpenInferenceSlot(config, key));
  options.inference_slot = slot.get();
  options.inference_min_accuracy = config.inference_min_accuracy;
  if (config.inference_health_examples > 0) {
    options.inference_health_check = [&pipeline, n = config.inference_health_examples](const ModelHandle& model)
        -> absl::StatusOr<std::optional<double>> {
      // A fixed seed: every model is checked on the same examples.
      FEDGE_ASSIGN_OR_RETURN(ExampleBatch batch, pipeline->Draw(n, /*seed=*/0x4845414c5448));
      return HeldBackAccuracy(model, batch);
    };
  }
  std::unique_ptr<InferenceServer> inference_server;
  if (!config.inference_socket.empty()) {
    FEDGE_ASSIGN_OR_RETURN(inference_server, InferenceServer::Start({.socket_path = config.inference_socket}, slot.get()));
    options.service_metrics = [&inference_server] { return inference_server->ReportMetrics(); };
    FEDGE_LOG(INFO) << config.device.device_id << ": answering classification requests on " << config.inference_socket;
  }
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<PrivacyLedger> ledger,
                         OpenLedger(config, device_key, options.privacy_ledger_refusal));
  options.privacy_ledger = ledger.get();
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Device> device, Device::Create(options, transport.get(), Clock::Real(),
                                                                        pipeline->Observe(trainer.get()), key));
  pipeline->SetReporter([&device](absl::Span<const proto::DriftAlarm> alarms) { return device->ReportDrift(alarms); });
  FEDGE_LOG(INFO) << config.device.device_id << ": data from " << pipeline->source().description() << " ("
                  << pipeline->num_examples() << " stored so far), drift monitoring "
                  << (config.drift.enabled ? config.drift.settings.detector.name : "off") << ", model "
                  << config.trainer.architecture << ", coordinator "
                  << (config.transport == "mqtt" ? "via MQTT broker " + config.mqtt.broker : config.address)
                  << " (key " << key.KeyId() << ")";
  RunLimits limits = config.run;
  limits.stop = [] { return g_stop.load(); };
  limits.before_poll = [&pipeline] { return pipeline->Step(); };
  const absl::Status status = device->Run(limits);
  const DeviceCounters c = device->counters();
  const DevicePipelineStats data = pipeline->stats();
  std::printf("%s: %llu examples read (%llu bad rows, %llu files), %lld stored, %lld rejected; %llu scored, "
              "%llu drift alarms (%llu reported)\n",
              config.device.device_id.c_str(), static_cast<unsigned long long>(data.source.examples),
              static_cast<unsigned long long>(data.source.bad_rows),
              static_cast<unsigned long long>(data.source.files_read),
              static_cast<long long>(data.stream.preprocess.accepted),
              static_cast<long long>(data.stream.preprocess.rejected()), static_cast<unsigned long long>(data.scored),
              static_cast<unsigned long long>(data.alarms), static_cast<unsigned long long>(data.alarms_reported));
  std::printf("%s: %llu tasks done, %llu failed, %llu models rejected, %llu retries, %llu bytes down, %llu bytes up\n",
              config.device.device_id.c_str(), static_cast<unsigned long long>(c.tasks_done),
              static_cast<unsigned long long>(c.tasks_failed), static_cast<unsigned long long>(c.artifacts_rejected),
              static_cast<unsigned long long>(c.retries), static_cast<unsigned long long>(c.bytes_down),
              static_cast<unsigned long long>(c.bytes_up));
  std::printf("%s: outbox: %llu kept, %llu delivered later, %llu refused, %llu evicted, %llu discarded\n",
              config.device.device_id.c_str(), static_cast<unsigned long long>(c.outbox_kept),
              static_cast<unsigned long long>(c.outbox_delivered), static_cast<unsigned long long>(c.outbox_refused),
              static_cast<unsigned long long>(c.outbox_evicted), static_cast<unsigned long long>(c.outbox_discarded));
  if (slot != nullptr) {
    std::printf("%s: serving deployed model %llu from %s (%llu installed, %llu rolled back this run)\n",
                config.device.device_id.c_str(), static_cast<unsigned long long>(slot->active_version().value_or(0)),
                config.inference_dir.c_str(), static_cast<unsigned long long>(c.inference_installs),
                static_cast<unsigned long long>(c.inference_rollbacks));
  }
  return status;
}

// Exit code of `enroll` while approval is still awaited (the command can
// be run again).
constexpr int kExitPending = 3;

struct EnrolFlags {
  std::string token;
  std::string ca_out;
  double wait_s = 0;
  double poll_interval_s = 2;
};

int RunEnrol(const DeviceConfig& config, const EnrolFlags& flags) {
  SetMinLogLevel(ParseLogLevel(config.log_level));
  EnrolOptions options;
  options.target = config.address;
  options.root_cert_pem_path = config.root_cert_path;
  options.ssl_target_name_override = config.ssl_target_name_override;
  options.token = flags.token;
  options.device_id = config.device.device_id;
  options.key_path = config.tls_key_path;
  options.cert_path = config.tls_cert_path;
  options.ca_cert_path = flags.ca_out;
  options.wait = absl::Seconds(flags.wait_s);
  options.poll_interval = absl::Seconds(flags.poll_interval_s);
  options.rpc_timeout = config.rpc_timeout;
  absl::StatusOr<EnrolOutcome> outcome = Enrol(options, Clock::Real());
  if (!outcome.ok()) {
    std::cerr << "fedge-device: " << outcome.status().message() << "\n";
    return 1;
  }
  if (*outcome == EnrolOutcome::kPending) {
    std::printf("%s: pending approval (fedgectl device approve %s); run the same command again to fetch the "
                "certificate\n",
                config.device.device_id.c_str(), config.device.device_id.c_str());
    return kExitPending;
  }
  std::printf("%s: enrolled; run with --tls-cert %s --tls-key %s\n", config.device.device_id.c_str(),
              config.tls_cert_path.c_str(), config.tls_key_path.c_str());
  return 0;
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  fedge::KeepFreedMemoryForReuse();  // before any thread allocates: no page-fault churn per training step
  using fedge::DeviceConfig;
  DeviceConfig config = fedge::DefaultDeviceConfig();
  // The file is read first so flags override it and --help shows its values.
  if (const std::string path = fedge::ConfigPathFromArgs(argc, argv); !path.empty()) {
    if (absl::Status s = fedge::LoadDeviceConfig(path, &config); !s.ok()) {
      std::cerr << "fedge-device: " << s.message() << "\n";
      return 2;
    }
  }
  CLI::App app("fedge-device: a federated-learning device agent. Keys: docs/configuration.md");
  app.option_defaults()->always_capture_default();
  std::string config_path;  // already applied above
  app.add_option("--config", config_path, "TOML config file (read first; flags override it)")->check(CLI::ExistingFile);
  app.add_option("--coordinator", config.address, "coordinator address host:port");
  app.add_option("--transport", config.transport, "grpc (to --coordinator) | mqtt (through --mqtt-broker)")
      ->check(CLI::IsMember({"grpc", "mqtt"}));
  app.add_option("--mqtt-broker", config.mqtt.broker,
                 "MQTT broker ssl://host:port for --transport mqtt (mqtt.broker; TLS with --root-cert, --tls-cert, "
                 "--tls-key unless [mqtt] names others)");
  app.add_option("--root-cert", config.root_cert_path, "PEM certificate(s) to trust for the coordinator's TLS");
  app.add_option("--tls-cert", config.tls_cert_path, "this device's certificate (PEM) for mutual TLS; its CN is the device id");
  app.add_option("--tls-key", config.tls_key_path, "private key (PEM) of --tls-cert");
  app.add_option("--coordinator-key", config.public_key_path, "pinned Ed25519 public key (PEM) that signs models");
  app.add_option("--ssl-target-name-override", config.ssl_target_name_override, "TLS name to check (testing only)");
  app.add_option("--device-id", config.device.device_id, "this device's id");
  app.add_option("--seed", config.device.seed, "device seed (training, backoff jitter)");
  app.add_option("--data-source", config.data.source, "files (read once) | spool (a directory filled while running)")
      ->check(CLI::IsMember({"files", "spool"}));
  app.add_option("--data-format", config.data.format, "idx (Fashion-MNIST images) | csv (features + label)")
      ->check(CLI::IsMember({"idx", "csv"}));
  app.add_option("--data-path", config.data.path, "csv: the file; spool: the directory (data.path)");
  app.add_option("--data-window", config.data.store.window, "recent examples kept (data.window; 0: 1024 or the shard)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--data-reservoir", config.data.store.reservoir, "replay examples kept (data.reservoir)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--train-examples", config.data.store.train_examples,
                 "examples per training set (data.train_examples; 0: all stored)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--drift", config.drift.enabled, "monitor new data for drift and report alarms (drift.enabled)");
  std::string detector = config.drift.settings.detector.name;
  app.add_option("--drift-detector", detector,
                 "drift detector, with its default options when it differs from the file's (drift.detector.name)");
  app.add_option("--data-dir", config.data.dir, "directory with the Fashion-MNIST IDX files");
  app.add_option("--shard", config.data.shard, "this device's IID shard of the train split")->check(CLI::NonNegativeNumber);
  app.add_option("--num-shards", config.data.num_shards, "number of IID shards")->check(CLI::PositiveNumber);
  app.add_option("--index-file", config.data.index_file, "file of example indices (instead of --shard)");
  app.add_option("--model", config.trainer.architecture, "zoo architecture, must match the coordinator's (model.name)");
  app.add_option("--input-features", config.trainer.shape.input_features,
                 "mlp_tabular: features per example, as the coordinator's (model.input_features)");
  app.add_option("--num-classes", config.trainer.shape.num_classes, "mlp_tabular: classes (model.num_classes)");
  app.add_option("--threads", config.trainer.torch_threads, "LibTorch intra-op threads, 0 default (run.torch_threads)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--max-tasks", config.run.max_tasks, "exit after this many accepted updates (0: no limit)");
  app.add_option("--max-idle-polls", config.run.max_idle_polls, "exit after this many polls without a task (0: no limit)");
  app.add_option("--state-dir", config.device.state_dir, "directory for state kept across restarts (error-feedback residual)");
  app.add_option("--state-key-file", config.state_key_file,
                 "AES-256 key sealing --state-dir and the privacy ledger, 0600, created if missing "
                 "(default <state-dir>/state.key or <ledger>.key)");
  app.add_option("--inference-dir", config.inference_dir,
                 "serve the coordinator's deployed INT8 model from this directory (active.fedge)");
  app.add_option("--inference-socket", config.inference_socket,
                 "with --inference-dir: answer classification requests of local processes on this Unix socket");
  app.add_option("--inference-health-examples", config.inference_health_examples,
                 "check each new deployed model on this many stored labelled examples (0: load only)")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--inference-min-accuracy", config.inference_min_accuracy,
                 "roll a new deployed model back when its held-back accuracy is below this")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--privacy-ledger,--dp-ledger", config.privacy_ledger_path,
                 "privacy ledger file: enforces the lifetime DP budget (dp.ledger)");
  app.add_option("--privacy-epsilon,--dp-device-epsilon", config.dp.device_epsilon,
                 "this device's own lifetime epsilon budget, 0 the federation's only (dp.device_epsilon)")
      ->check(CLI::NonNegativeNumber);
  bool reset_ledger = false;
  app.add_flag("--reset-privacy-ledger", reset_ledger,
               "start a new, empty privacy ledger after one was refused (the old file is kept) and exit");
  app.add_option("--log-level", config.log_level, "debug | info | warning | error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  fedge::EnrolFlags enrol_flags;
  CLI::App* enroll = app.add_subcommand(
      "enroll", "get this device's certificate with a one-time token: the key is made here (--tls-key, 0600) and "
                "the certificate written to --tls-cert; exit 3 while approval is pending");
  enroll->fallthrough();
  enroll->add_option("--token", enrol_flags.token, "one-time enrolment token (fedgectl token create)")->required();
  enroll->add_option("--wait-s", enrol_flags.wait_s, "while pending approval, keep asking for this long (0: once)")
      ->check(CLI::NonNegativeNumber);
  enroll->add_option("--poll-interval-s", enrol_flags.poll_interval_s, "while pending, ask again this often")
      ->check(CLI::PositiveNumber);
  enroll->add_option("--ca-out", enrol_flags.ca_out, "also write the device CA's certificate here");
  CLI11_PARSE(app, argc, argv);
  if (*enroll) return fedge::RunEnrol(config, enrol_flags);
  if (detector != config.drift.settings.detector.name) {
    absl::StatusOr<fedge::DetectorSpec> spec = fedge::ParseDetectorSpec("name = \"" + detector + "\"");
    if (!spec.ok()) {
      std::cerr << "fedge-device: --drift-detector: " << spec.status().message() << "\n";
      return 2;
    }
    config.drift.settings.detector = *std::move(spec);
  }

  std::signal(SIGINT, fedge::OnSignal);
  std::signal(SIGTERM, fedge::OnSignal);
  const absl::Status status = reset_ledger ? fedge::ResetLedger(config) : fedge::RunDevice(config);
  if (!status.ok()) {
    std::cerr << "fedge-device: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
