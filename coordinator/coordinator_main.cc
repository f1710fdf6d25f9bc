// fedge-coordinator: runs a federation as a gRPC service with TLS.
//
//   fedge-coordinator --config coordinator.toml --generate-dev-tls certs
//       --signing-key keys/signing.pem --generate-signing-key
//       --rounds 3 --devices-per-round 5 --min-devices 5 --exit-when-finished --rounds-csv rounds.csv
//
// Development device certificates for mutual TLS (then serve with
// --client-ca certs/ca.pem):
//
//   fedge-coordinator --generate-dev-tls certs --issue-device-cert device-0 device-1
//
// Settings come from the TOML file (coordinator/coordinator_config.h), and
// every flag given on the command line overrides the file. See
// coordinator/README.md.

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "aggregation/strategy_registry.h"
#include "coordinator/coordinator_config.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/timed_state_store.h"
#include "coordinator/deploy_setup.h"
#include "coordinator/federation_setup.h"
#include "coordinator/grpc_service.h"
#include "mqtt/mqtt_bridge.h"
#include "coordinator/round_report.h"
#include "coordinator/rounds_csv_file.h"
#include "coordinator/state_setup.h"
#include "core/config.h"
#include "core/file_util.h"
#include "core/idx.h"
#include "core/fault_injection.h"
#include "core/logging.h"
#include "core/shutdown_signal.h"
#include "core/signing.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/tls.h"
#include "models/torch_evaluator.h"
#include "models/torch_params.h"
#include "metrics/http_endpoint.h"
#include "metrics/registry.h"
#include "models/zoo.h"

namespace fedge {
namespace {


// --issue-device-cert: a stand-alone action (issue, then exit) rather than a
// setting, so it is not part of CoordinatorConfig.
struct DeviceCertRequest {
  std::vector<std::string> device_ids;
  std::string out_dir;  // empty: <generate_dev_tls>/devices
};

void AddServerFlags(CLI::App& app, CoordinatorConfig& c, std::string& config_path, bool& generate_only,
                    DeviceCertRequest& certs) {
  app.add_option("--config", config_path, "TOML config file (read first; flags override it)");
  app.add_option("--listen", c.listen, "host:port to serve on (port 0 picks one)");
  app.add_option("--tls-cert", c.tls_cert, "server certificate chain (PEM)");
  app.add_option("--tls-key", c.tls_key, "server private key (PEM)");
  app.add_option("--generate-dev-tls", c.generate_dev_tls,
                 "keep or create a self-signed pair DIR/{cert,key}.pem and serve with it");
  app.add_option("--client-ca", c.client_ca,
                 "CA certificate(s) (PEM) of device certificates: require mutual TLS and bind each device_id "
                 "to its certificate's CN");
  app.add_option("--admin-cn", c.admin_cn, "with --client-ca: certificate CN allowed to call the Admin service (fedgectl)");
  app.add_option("--issue-device-cert", certs.device_ids,
                 "issue dev certificates (CN = device id) from the dev CA DIR/ca.pem of --generate-dev-tls "
                 "(created if missing), then exit");
  app.add_option("--device-cert-dir", certs.out_dir,
                 "where --issue-device-cert writes ID/{cert,key}.pem (default: <--generate-dev-tls DIR>/devices)");
  app.add_option("--signing-key", c.signing_key, "Ed25519 artifact-signing key (PEM)");
  app.add_flag("--generate-signing-key", c.generate_signing_key, "create --signing-key if it does not exist");
  app.add_option("--public-key", c.public_key, "write the signing public key here (default <signing-key>.pub)");
  app.add_flag("--generate-only", generate_only, "write TLS and signing keys, then exit");
  app.add_option("--tick-interval-ms", c.tick_interval_ms, "round state machine period");
  app.add_flag("--exit-when-finished", c.exit_when_finished, "exit after --rounds rounds");
  app.add_option("--shutdown-grace-s", c.shutdown_grace_s, "time in-flight RPCs get at shutdown");
  app.add_option("--rounds-csv", c.rounds_csv, "write round records to this CSV after every round");
  app.add_option("--metrics-listen", c.metrics_listen,
                 "serve Prometheus metrics (GET /metrics, plain HTTP) on host:port, e.g. 127.0.0.1:9464; off if empty");
  app.add_option("--max-message-bytes", c.max_message_bytes, "largest gRPC message");
  app.add_option("--device-ca-key", c.enrol_ca_key,
                 "private key (PEM) of the device CA (the first certificate of --client-ca): devices enrol with "
                 "tokens (fedgectl token create, fedge-device enroll); needs --state ([enrolment] ca_key)");
  app.add_flag("--require-approval", c.enrol_require_approval,
               "enrolled devices wait until fedgectl device approve ID ([enrolment] require_approval)");
  app.add_option("--crl", c.enrol_crl, "where the device CA's CRL is written (default <state>/crl.pem; [enrolment] crl)");
  app.add_option("--log-level", c.log_level, "debug, info, warning or error");
  app.add_option("--mqtt-broker", c.mqtt.broker,
                 "also serve devices through this MQTT broker, ssl://host:port ([mqtt] broker; mqtt/README.md)");
  app.add_option("--mqtt-ca", c.mqtt.ca, "PEM certificate(s) trusted for the MQTT broker ([mqtt] ca)");
  app.add_option("--mqtt-cert", c.mqtt.cert, "the coordinator's client certificate at the broker ([mqtt] cert)");
  app.add_option("--mqtt-key", c.mqtt.key, "private key of --mqtt-cert ([mqtt] key)");
}

// --state and friends (coordinator/store/README.md); --backup is an action.
void AddStateFlags(CLI::App& app, CoordinatorConfig& c, std::string& backup) {
  app.add_option("--state", c.state.dir,
                 "state directory: keep the run durable there and resume it after a restart ([state] dir)");
  app.add_flag("--new-run", c.state.new_run, "discard the run stored in --state and start a new one");
  app.add_option("--resume-grace-s", c.state.resume_grace_s,
                 "a resumed open round's deadline is at least this far away ([state] resume_grace_s)");
  app.add_option("--keep-models", c.state.keep_models, "global model versions kept in --state ([state] keep_models)");
  app.add_option("--durability", c.state.durability,
                 "full: fsync every acknowledgement (survives power loss); process: survives the coordinator being "
                 "killed, not the machine crashing ([state] durability)")
      ->check(CLI::IsMember({"full", "process"}));
  app.add_option("--backup", backup,
                 "copy the --state directory (consistently, also while a coordinator serves it) to this new "
                 "directory, then exit");
}

void AddEvaluationFlags(CLI::App& app, CoordinatorConfig& c) {
  app.add_option("--eval-data", c.eval_data, "Fashion-MNIST dir for test-set evaluation; '' disables");
  app.add_option("--eval-batch-size", c.eval_batch_size, "examples per evaluation forward pass");
  app.add_option("--eval-threads", c.eval_threads, "LibTorch threads for evaluation (0: default)");
}

// The shared schema's flags (settings/federation_settings.h); each names its
// key in docs/configuration.md.
void AddFederationFlags(CLI::App& app, FederationSettings& s) {
  FederationSettings::Federation& f = s.federation;
  app.add_option("--name", s.name, "federation name: model family in artifacts (name)");
  app.add_option("--seed", s.seed, "seeds the initial weights and device selection (seed)");
  app.add_option("--model", s.model.name, "zoo architecture of the global model (model.name)");
  app.add_option("--input-features", s.model.shape.input_features,
                 "features per example of mlp_tabular (model.input_features; 0 for the image models)");
  app.add_option("--num-classes", s.model.shape.num_classes, "classes of mlp_tabular (model.num_classes)");
  app.add_option("--rounds", f.rounds, "rounds to run, 0 until stopped (federation.rounds)");
  app.add_option("--min-devices", f.min_devices, "registered devices needed to open a round");
  app.add_option("--devices-per-round", f.devices_per_round, "accepted updates that close a round");
  app.add_option("--fraction", f.fraction, "target = ceil(fraction * eligible) when > 0");
  app.add_option("--over-selection", f.over_selection, "selected = ceil(target * over_selection)");
  app.add_option("--min-quorum", f.min_quorum, "fewest updates for a round to succeed at its deadline");
  app.add_option("--round-deadline-s", f.round_deadline_s, "round deadline in seconds");
  app.add_option("--poll-interval-ms", f.poll_interval_ms, "idle devices poll again after this");
  app.add_option("--evaluate-every", f.evaluate_every, "evaluate every N rounds (0: never)");
  app.add_option("--download-chunk-bytes", f.download_chunk_bytes, "largest model chunk per Download");
  app.add_option("--max-update-norm", f.max_update_norm, "reject updates with a larger L2 norm (0: off)");
  app.add_option("--max-examples", f.max_examples, "cap on a device's claimed example count (0: off)");
  app.add_option("--favour-drifting", f.favour_drifting, "sample devices that reported drift first");
  app.add_option("--extra-round-drift-fraction", f.extra_round_drift_fraction,
                 "grant an extra round when this share of devices drifts (0: off)");
  app.add_option("--max-extra-rounds", f.max_extra_rounds, "most extra rounds granted for drift");
  app.add_option("--deploy-every", s.deploy.every_rounds,
                 "distil, int8-quantise and serve the global model every N rounds (0: never; see [deploy])");
}

void AddTrainingFlags(CLI::App& app, FederationSettings& s) {
  FederationSettings::Training& t = s.training;
  app.add_option("--local-epochs", t.local_epochs, "local epochs");
  app.add_option("--batch-size", t.batch_size, "local batch size");
  app.add_option("--lr,--learning-rate", t.learning_rate, "local learning rate (training.learning_rate)");
  app.add_option("--momentum", t.momentum, "local momentum");
  app.add_option("--weight-decay", t.weight_decay, "local weight decay");
  app.add_option("--optimizer", t.optimizer, "sgd or adam");
  app.add_option("--codec", t.codec, "update codec pipeline, e.g. fp32 or topk:0.01>int8>zstd");
  app.add_option("--train-max-examples", t.max_examples, "examples per task, 0 all (training.max_examples)");
  app.add_option("--update-clip-norm", t.update_clip_norm, "device-side clip of the whole update (0: off)");
  app.add_option("--dp-noise-multiplier", s.dp.noise_multiplier, "DP-SGD noise multiplier; turns [dp] on");
  app.add_option("--dp-clip-norm", s.dp.clip_norm, "DP-SGD per-example clip norm");
  app.add_option("--dp-device-epsilon", s.dp.device_epsilon, "lifetime epsilon budget per device (0: none)");
}

// --strategy / --strategy-option: given, they replace the file's [strategy]
// table (ApplyStrategyFlags).
struct StrategyFlags {
  std::string name;
  std::vector<std::string> options;  // KEY=VALUE, TOML values
};

absl::Status ApplyStrategyFlags(const StrategyFlags& flags, StrategySpec& current) {
  if (flags.name.empty() && flags.options.empty()) return absl::OkStatus();
  const std::string name = flags.name.empty() ? current.name : flags.name;
  std::string toml = absl::StrCat("name = \"", name, "\"\n[", name, "]\n");
  for (const std::string& option : flags.options) {
    if (option.find('=') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("--strategy-option \"", option, "\" must be KEY=VALUE, e.g. server_learning_rate=0.03"));
    }
    absl::StrAppend(&toml, option, "\n");
  }
  absl::StatusOr<StrategySpec> spec = ParseStrategySpec(toml);
  if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat("--strategy flags: ", spec.status().message()));
  current = *std::move(spec);
  return absl::OkStatus();
}

void AddStrategyFlags(CLI::App& app, const StrategySpec& current, StrategyFlags& strategy) {
  app.add_option("--strategy", strategy.name,
                 absl::StrCat("aggregation strategy, replacing the file's [strategy] table: ",
                              absl::StrJoin(RegisteredStrategyNames(), ", ")))
      ->default_str(current.name);
  app.add_option("--strategy-option", strategy.options,
                 "KEY=VALUE of the strategy's [strategy.<name>] table (repeatable), e.g. server_learning_rate=0.03");
}

absl::StatusOr<TlsKeyCertPair> PrepareTls(const CoordinatorConfig& c) {
  if (!c.tls_cert.empty()) return LoadKeyCertPair(c.tls_cert, c.tls_key);
  FEDGE_ASSIGN_OR_RETURN(DevTlsFiles files, EnsureDevTlsPair(c.generate_dev_tls));
  FEDGE_LOG(INFO) << (files.generated ? "generated" : "using existing") << " development TLS pair "
                  << files.cert_path << " / " << files.key_path << "; devices trust " << files.cert_path;
  return LoadKeyCertPair(files.cert_path, files.key_path);
}

// The device CA that turns on mutual TLS, or "" (server-only TLS).
absl::StatusOr<std::string> PrepareClientCa(const CoordinatorConfig& c) {
  if (c.client_ca.empty()) {
    FEDGE_LOG(WARNING) << "no --client-ca: devices are not authenticated, any TLS client can act as any device";
    return std::string();
  }
  FEDGE_ASSIGN_OR_RETURN(std::string ca, LoadCaCerts(c.client_ca));
  FEDGE_LOG(INFO) << "mutual TLS: clients need a certificate from " << c.client_ca
                  << "; each device_id must equal its certificate's CN; the Admin service "
                  << (c.admin_cn.empty() ? std::string("refused to all (no --admin-cn)")
                                         : absl::StrCat("for CN \"", c.admin_cn, "\" only"));
  return ca;
}

// Issues development device certificates from the dev CA kept next to the
// dev TLS pair, so a test or an operator can try mutual TLS without a PKI.
absl::Status IssueDeviceCerts(const CoordinatorConfig& c, const DeviceCertRequest& request) {
  if (c.generate_dev_tls.empty()) {
    return absl::InvalidArgumentError(
        "--issue-device-cert uses the development device CA in the --generate-dev-tls DIR; set that flag");
  }
  const std::string out_dir = request.out_dir.empty()
                                  ? (std::filesystem::path(c.generate_dev_tls) / "devices").string()
                                  : request.out_dir;
  for (const std::string& id : request.device_ids) {
    FEDGE_ASSIGN_OR_RETURN(DevTlsFiles files, IssueDevDeviceCert(c.generate_dev_tls, id, out_dir));
    FEDGE_LOG(INFO) << "issued a device certificate for " << id << ": " << files.cert_path << " / " << files.key_path;
  }
  FEDGE_LOG(INFO) << "devices present these with --tls-cert/--tls-key; serve with --client-ca "
                  << (std::filesystem::path(c.generate_dev_tls) / "ca.pem").string();
  return absl::OkStatus();
}

absl::StatusOr<SigningKey> PrepareSigningKey(const CoordinatorConfig& c) {
  std::optional<SigningKey> key;
  if (c.signing_key.empty()) {
    FEDGE_LOG(WARNING) << "no --signing-key: using an ephemeral signing key valid for this run only";
    FEDGE_ASSIGN_OR_RETURN(key, SigningKey::Generate());
  } else if (std::filesystem::exists(c.signing_key)) {
    FEDGE_ASSIGN_OR_RETURN(key, SigningKey::FromPemFile(c.signing_key));
  } else if (c.generate_signing_key) {
    FEDGE_ASSIGN_OR_RETURN(key, SigningKey::Generate());
    FEDGE_RETURN_IF_ERROR(WritePrivateFile(c.signing_key, key->ToPem()));
    FEDGE_LOG(INFO) << "generated signing key " << c.signing_key;
  } else {
    return absl::NotFoundError(
        absl::StrCat(c.signing_key, ": no such signing key; add --generate-signing-key to create it"));
  }
  const std::string public_path = c.public_key.empty() ? absl::StrCat(c.signing_key, ".pub") : c.public_key;
  FEDGE_RETURN_IF_ERROR(WritePublicFile(public_path, key->verify_key().ToPem()));
  FEDGE_LOG(INFO) << "artifact signing key " << key->verify_key().KeyId() << "; devices pin " << public_path;
  return *std::move(key);
}

absl::StatusOr<std::unique_ptr<ModelEvaluator>> MakeEvaluator(const CoordinatorConfig& c) {
  if (c.eval_data.empty() || c.settings.federation.evaluate_every == 0) return nullptr;
  FEDGE_ASSIGN_OR_RETURN(const std::vector<int64_t> example, ExampleShape(c.settings.model.name, c.settings.model.shape));
  if (example.size() != 3) {
    // The evaluation set is Fashion-MNIST images; a tabular model has none.
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", c.settings.model.name, "' takes numeric features, but the evaluation data (--eval-data ",
        c.eval_data, ") are Fashion-MNIST images: set federation.evaluate_every = 0 (--evaluate-every 0)"));
  }
  FEDGE_ASSIGN_OR_RETURN(ImageDataset test, LoadFashionMnist(c.eval_data, "test"));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<TorchEvaluator> evaluator,
                         TorchEvaluator::Create(c.settings.model.name, test, c.eval_batch_size, c.eval_threads));
  FEDGE_LOG(INFO) << "evaluating on " << evaluator->num_examples() << " test examples from " << c.eval_data;
  return evaluator;
}

// The Prometheus endpoint and what it serves, or null without
// --metrics-listen. Made before the state store, whose writes it times, and
// started once the federation exists. Declared before the server so it
// outlives it.
struct MetricsService {
  metrics::Registry registry;
  std::optional<CoordinatorMetrics> coordinator;
  std::unique_ptr<metrics::MetricsEndpoint> endpoint;

  absl::Status Start(const CoordinatorConfig& c, Federation* federation) {
    coordinator.emplace(&registry,
                        CoordinatorMetricsOptions{.offline_after = absl::Seconds(c.device_offline_after_s),
                                                  .epsilon_budget = c.settings.dp.device_epsilon,
                                                  .rollout = [federation] { return federation->GetRollout(); }},
                        [federation] { return federation->GetStatus(/*include_devices=*/true); }, Clock::Real());
    FEDGE_ASSIGN_OR_RETURN(endpoint, metrics::MetricsEndpoint::Start(c.metrics_listen, &registry));
    FEDGE_LOG(INFO) << "Prometheus metrics on " << c.metrics_listen.substr(0, c.metrics_listen.rfind(':'))
                    << " (metrics port " << endpoint->port() << "), GET /metrics";
    return absl::OkStatus();
  }
};

// Enrolment when [enrolment] ca_key is set (coordinator/enrolment.h); null
// otherwise.
absl::StatusOr<std::unique_ptr<Enrolment>> PrepareEnrolment(const CoordinatorConfig& c, const std::string& client_ca,
                                                             EnrolmentStore* store, Federation* federation) {
  if (c.enrol_ca_key.empty()) return nullptr;
  EnrolmentOptions options;
  options.ca.cert_chain_pem = client_ca;
  FEDGE_ASSIGN_OR_RETURN(options.ca.private_key_pem, ReadFile(c.enrol_ca_key));
  options.require_approval = c.enrol_require_approval;
  options.certificate_validity = absl::Hours(24 * c.enrol_certificate_days);
  options.crl_path = c.enrol_crl.empty() ? (std::filesystem::path(c.state.dir) / "crl.pem").string() : c.enrol_crl;
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Enrolment> enrolment,
                         Enrolment::Create(std::move(options), store, federation, Clock::Real(),
                                           SecureRandom::Default()));
  FEDGE_LOG(INFO) << "enrolment on: devices enrol with tokens (fedgectl token create)"
                  << (c.enrol_require_approval ? ", then wait for fedgectl device approve" : "") << "; CRL in "
                  << (c.enrol_crl.empty() ? (std::filesystem::path(c.state.dir) / "crl.pem").string() : c.enrol_crl);
  return enrolment;
}

// The MQTT bridge when [mqtt] broker is set, else null. Uploads are answered
// once durable (UploadAsync), like over gRPC.
absl::StatusOr<std::unique_ptr<mqtt::MqttBridge>> StartMqttBridge(const CoordinatorConfig& c, Federation* federation) {
  if (c.mqtt.broker.empty()) return nullptr;
  mqtt::MqttConnectionOptions options;
  options.broker = c.mqtt.broker;
  options.ca_pem_path = c.mqtt.ca;
  options.cert_pem_path = c.mqtt.cert;
  options.key_pem_path = c.mqtt.key;
  options.client_id = c.mqtt.client_id.empty() ? "fedge-coordinator" : c.mqtt.client_id;
  options.topic_prefix = c.mqtt.topic_prefix;
  options.session_expiry = absl::Seconds(c.mqtt.session_expiry_s);
  options.keep_alive = absl::Seconds(c.mqtt.keep_alive_s);
  options.max_message_bytes = static_cast<size_t>(c.max_message_bytes);
  FEDGE_ASSIGN_OR_RETURN(
      std::unique_ptr<mqtt::MqttBridge> bridge,
      mqtt::MqttBridge::Start(options, federation, [federation](const proto::UploadRequest& request, auto done) {
        federation->UploadAsync(request, std::move(done));
      }));
  bridge->Announce(federation->model_version(), federation->deployed_model_version());
  FEDGE_LOG(INFO) << "MQTT: serving devices through " << c.mqtt.broker << " (topics " << c.mqtt.topic_prefix
                  << "/<device>/req/<rpc>) as " << options.client_id;
  return bridge;
}

// Serves until the last round (with exit_when_finished) or SIGINT/SIGTERM.
absl::Status Run(const CoordinatorConfig& c, bool generate_only) {
  SetMinLogLevel(ParseLogLevel(c.log_level));
  FEDGE_RETURN_IF_ERROR(ValidateCoordinatorConfig(c));
  FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair tls, PrepareTls(c));
  FEDGE_ASSIGN_OR_RETURN(SigningKey signing_key, PrepareSigningKey(c));
  if (generate_only) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(std::string client_ca, PrepareClientCa(c));

  const FederationSettings& settings = c.settings;
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential model,
                         CreateModel(settings.model.name, SeedFor(settings, SeedStream::kModel), settings.model.shape));
  ModelParams initial = ToParams(*model);
  FEDGE_LOG(INFO) << "model " << settings.model.name << ": " << initial.values.size() << " parameters";
  FEDGE_ASSIGN_OR_RETURN(const std::vector<int64_t> example, ExampleShape(settings.model.name, settings.model.shape));
  if (example.size() != 3 && settings.deploy.every_rounds > 0) {
    // Distillation and the int8 runtime's graphs are built for images.
    return absl::InvalidArgumentError(absl::StrCat("deploy.every_rounds (--deploy-every) distils into an image model; '",
                                                   settings.model.name, "' takes numeric features: set it to 0"));
  }
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelEvaluator> evaluator, MakeEvaluator(c));
  // Declared before the federation, which borrows it.
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ModelDeployer> deployer, MakeDeployer(settings, signing_key));
  FederationOptions federation_options = MakeFederationOptions(settings, /*population=*/0);
  federation_options.deployer = deployer.get();
  if (federation_options.client_dp) {
    FEDGE_LOG(INFO) << "client-level DP accounted at a device sampling rate of "
                    << federation_options.client_dp->device_sampling_rate
                    << (settings.client_dp.sampling_rate > 0 ? "" : " (against federation.min_devices: an upper bound)");
  }
  // Crash tests only: FEDGE_FAULT_INJECTION="EVENT:N" SIGKILLs the process at
  // the N-th fault point EVENT of the Federation, e.g. "upload-partial:1".
  FEDGE_ASSIGN_OR_RETURN(federation_options.fault_point, FaultInjectionFromEnv());
  federation_options.device_offline_after = absl::Seconds(c.device_offline_after_s);
  std::unique_ptr<MetricsService> metrics = c.metrics_listen.empty() ? nullptr : std::make_unique<MetricsService>();
  std::unique_ptr<SqliteStateStore> store;
  std::optional<TimedStateStore> timed_store;  // the store's writes in fedge_store_write_seconds
  if (!c.state.dir.empty()) {
    FEDGE_ASSIGN_OR_RETURN(store, OpenCoordinatorState(c));
    federation_options.store = store.get();
    if (metrics != nullptr) federation_options.store = &timed_store.emplace(store.get(), &metrics->registry, Clock::Real());
    federation_options.resume_grace = absl::Seconds(c.state.resume_grace_s);
  } else {
    FEDGE_LOG(WARNING) << "no --state: the run is kept in memory only and a restart begins again at round 1";
  }
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Federation> federation,
                         Federation::Create(std::move(federation_options), settings.strategy.create(),
                                            std::move(initial), std::move(signing_key), Clock::Real(),
                                            evaluator.get()));

  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Enrolment> enrolment,
                         PrepareEnrolment(c, client_ca, store.get(), federation.get()));

  CoordinatorServerOptions options;
  options.enrolment = enrolment.get();
  options.listen_address = c.listen;
  options.tls = std::move(tls);
  options.client_ca_pem = std::move(client_ca);
  options.admin_common_name = c.admin_cn;
  options.state_dir = c.state.dir;
  options.tick_interval = absl::Milliseconds(c.tick_interval_ms);
  options.exit_when_finished = c.exit_when_finished;
  options.shutdown_grace = absl::Seconds(c.shutdown_grace_s);
  options.max_message_bytes = static_cast<int>(c.max_message_bytes);
  if (metrics != nullptr) FEDGE_RETURN_IF_ERROR(metrics->Start(c, federation.get()));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<mqtt::MqttBridge> bridge, StartMqttBridge(c, federation.get()));
  options.on_round = [&c, fed = federation.get(), m = metrics.get(),
                      b = bridge.get()](const proto::RoundRecord& record) {
    if (m != nullptr) m->coordinator->ObserveRound(record);
    if (b != nullptr) b->Announce(fed->model_version(), fed->deployed_model_version());
    if (c.rounds_csv.empty()) return;
    // Appended while the header stays the same (a resumed run continues its
    // file); rewritten atomically when a new metric column appears.
    const absl::Status written = UpdateRoundsCsv(c.rounds_csv, fed->rounds());
    if (!written.ok()) FEDGE_LOG(WARNING) << "rounds CSV: " << written;
  };
  if (!c.rounds_csv.empty() && store != nullptr) {  // rounds completed just before a crash
    const absl::Status written = UpdateRoundsCsv(c.rounds_csv, federation->rounds());
    if (!written.ok()) FEDGE_LOG(WARNING) << "rounds CSV: " << written;
  }
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<CoordinatorServer> server,
                         CoordinatorServer::Start(std::move(options), federation.get()));
  const int64_t rounds = settings.federation.rounds;
  FEDGE_LOG(INFO) << "fedge-coordinator serving " << settings.name << " on " << c.listen << " (port "
                  << server->port() << "), " << settings.strategy.name << ", "
                  << (rounds > 0 ? absl::StrCat(rounds, " rounds") : "no round limit");

  FEDGE_RETURN_IF_ERROR(InstallShutdownSignals());
  std::thread signal_thread([&server] {
    const int sig = WaitForShutdownSignal();
    if (sig != 0) FEDGE_LOG(INFO) << "received " << strsignal(sig) << "; shutting down";
    server->RequestStop();
  });
  server->Wait();
  bridge.reset();  // before the federation it calls
  WakeShutdownWaiter();
  signal_thread.join();
  FEDGE_LOG(INFO) << "stopped after " << federation->rounds().size() << " completed rounds; model v"
                  << federation->model_version() << ", deployed INT8 model v" << federation->deployed_model_version();
  return absl::OkStatus();
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  fedge::CoordinatorConfig config;
  fedge::SettingsChecks checks;
  for (const fedge::ModelInfo& m : fedge::ModelZoo()) checks.known_models.push_back(m.name);
  const std::string config_path = fedge::ConfigPathFromArgs(argc, argv);
  if (!config_path.empty()) {
    const absl::Status loaded = fedge::LoadCoordinatorConfig(config_path, &config, checks);
    if (!loaded.ok()) {
      std::cerr << "fedge-coordinator: " << loaded << "\n";
      return 2;
    }
  }
  CLI::App app{"fedge-coordinator: federated-learning coordinator (gRPC + TLS). Keys: docs/configuration.md"};
  app.option_defaults()->always_capture_default();  // --help shows each default (or the file's value)
  bool generate_only = false, print_config = false;
  std::string config_flag;  // already applied above
  fedge::DeviceCertRequest device_certs;
  fedge::StrategyFlags strategy_flags;
  fedge::AddServerFlags(app, config, config_flag, generate_only, device_certs);
  fedge::AddEvaluationFlags(app, config);
  fedge::AddFederationFlags(app, config.settings);
  fedge::AddTrainingFlags(app, config.settings);
  fedge::AddStrategyFlags(app, config.settings.strategy, strategy_flags);
  std::string backup;
  fedge::AddStateFlags(app, config, backup);
  app.add_flag("--print-config", print_config, "print the federation settings (file + flags) as JSON, then exit");
  CLI11_PARSE(app, argc, argv);
  if (const absl::Status applied = fedge::ApplyStrategyFlags(strategy_flags, config.settings.strategy);
      !applied.ok()) {
    std::cerr << "fedge-coordinator: " << applied << "\n";
    return 2;
  }
  if (app.count("--dp-noise-multiplier") > 0) config.settings.dp.enabled = true;
  if (print_config) {
    std::cout << fedge::FederationSettingsToJson(config.settings).dump(2) << "\n";
    return 0;
  }

  absl::Status status;
  if (!backup.empty()) {
    status = config.state.dir.empty()
                 ? absl::InvalidArgumentError("--backup copies the state directory: give it with --state")
                 : fedge::BackupStateDir(config.state.dir, backup);
    if (status.ok()) FEDGE_LOG(INFO) << "backed up " << config.state.dir << " to " << backup;
  } else {
    status = device_certs.device_ids.empty() ? fedge::Run(config, generate_only)
                                             : fedge::IssueDeviceCerts(config, device_certs);
  }
  if (!status.ok()) {
    FEDGE_LOG(ERROR) << status;
    return 1;
  }
  return 0;
}
