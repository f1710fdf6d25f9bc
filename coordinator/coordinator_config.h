// File: coordinator/coordinator_config.h
//
// The configuration of the `fedge-coordinator` service: one struct holding
// every setting with its default, read from a TOML file (core/config.h:
// typed values, range checks, unknown keys reported) and overridden by
// command-line flags in coordinator_main.cc. coordinator/README.md lists
// every key. File layout:
//
//   [server]      listen, tls_cert, tls_key, generate_dev_tls, client_ca,
//                 admin_cn, signing_key,
//                 generate_signing_key, public_key, tick_interval_ms,
//                 exit_when_finished, shutdown_grace_s, rounds_csv,
//                 max_message_bytes, log_level
//   [model]       name, seed, model_id
//   [evaluation]  data, batch_size, threads
//   [federation]  rounds, min_devices, devices_per_round, fraction,
//                 over_selection, min_quorum, round_deadline_s,
//                 poll_interval_ms, evaluate_every, seed,
//                 download_chunk_bytes, max_update_norm, max_examples
//   [train]       local_epochs, batch_size, learning_rate, momentum,
//                 optimizer, codec, max_examples, weight_decay,
//                 dp_noise_multiplier, dp_clip_norm, update_clip_norm
//   [strategy]    name; the chosen strategy's options in [strategy.<name>]
//                 (aggregation/strategy_registry.h)
//   [deploy]      every_rounds, student, temperature, epochs, batch_size,
//                 learning_rate, proxy_data, proxy_examples, prune_fraction,
//                 warm_start, threads
//
// Mutual TLS (server.client_ca, server.admin_cn): with `client_ca` set the
// coordinator requires every client to present a certificate issued by that
// CA, and binds identities: the device_id of every device RPC (Register,
// PollTask, Download, Upload, Report) must equal the subject common name
// (CN) of the client certificate, else the call fails with
// PERMISSION_DENIED before it reaches the Federation. Admin.GetStatus
// (which lists per-device privacy spend and drift) is answered only for the
// certificate whose CN equals `admin_cn`; with `admin_cn` empty, nobody.
// Without `client_ca` TLS is server-authenticated only, and a device is
// whoever its device_id says. Dev certificates: `fedge-coordinator
// --generate-dev-tls DIR --issue-device-cert ID` (coordinator/README.md).
//
// Thread-safety: plain data and free functions.
#ifndef FEDGE_COORDINATOR_COORDINATOR_CONFIG_H_
#define FEDGE_COORDINATOR_COORDINATOR_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "aggregation/strategy_registry.h"
#include "coordinator/federation.h"
#include "coordinator/store/run_config.h"
#include "core/idx.h"

namespace fedge {

// The deployed model (`[deploy]`): every `every_rounds` rounds the new
// global model is distilled into `student` on an unlabelled proxy set,
// optionally pruned, quantised to int8, signed and served to devices
// (FederationOptions::deploy_every, compression/model/distilling_deployer.h).
// Plain values so this library stays LibTorch-free; coordinator/deploy_setup.h
// turns them into a DistillingDeployer. The distillation defaults are
// DistillOptions' (compression/model/distillation.h).
struct DeployConfig {
  // Deploy after every N-th round that produced a new global model; 0 never.
  int64_t every_rounds = 0;
  // Zoo architecture (models/zoo.h) of the deployed student.
  std::string student = "cnn_student";
  // Distillation: softmax temperature, passes over the proxy set, proxy
  // images per step, Adam step size.
  double temperature = 2.0;
  int epochs = 3;
  int64_t batch_size = 64;
  double learning_rate = 2e-3;
  // Fashion-MNIST directory. Its last `proxy_examples` training images
  // (labels unused) are the unlabelled proxy set; its test split is the
  // labelled set the teacher / fp32 student / int8 student accuracies are
  // measured on (the deploy_*_accuracy round metrics).
  std::string proxy_data = kDefaultFashionMnistDir;
  int64_t proxy_examples = 10000;
  // Fraction of student weights pruned by magnitude before quantisation;
  // 0 skips pruning.
  double prune_fraction = 0;
  // Continue each distillation from the previous deployment's student.
  bool warm_start = true;
  // LibTorch intra-op threads while deploying; 0 leaves LibTorch's default.
  int threads = 0;
};

struct CoordinatorConfig {
  // --- [server] ----------------------------------------------------------
  // host:port to serve on; port 0 picks a free port (logged at start).
  std::string listen = "127.0.0.1:50051";
  // Server certificate chain and private key, PEM files.
  std::string tls_cert;
  std::string tls_key;
  // Instead of tls_cert/tls_key: keeps or creates a self-signed development
  // pair in this directory (key.pem, cert.pem) and serves with it. Devices
  // trust <dir>/cert.pem.
  std::string generate_dev_tls;
  // PEM file of the CA that issues device certificates. Set: mutual TLS with
  // identity binding (see the file comment). Empty: server-only TLS.
  std::string client_ca;
  // With client_ca: the client certificate CN allowed to call
  // Admin.GetStatus; empty refuses it to every client.
  std::string admin_cn;
  // Ed25519 artifact-signing key (PKCS#8 PEM). Empty: an ephemeral key, so
  // `public_key` must be set for devices to pin it.
  std::string signing_key;
  // Create `signing_key` when the file does not exist yet.
  bool generate_signing_key = false;
  // Where to write the signing public key (PEM) for devices to pin; empty
  // means "<signing_key>.pub".
  std::string public_key;
  // How often the round state machine advances.
  int64_t tick_interval_ms = 200;
  // Exit after federation.rounds rounds (rounds must be > 0).
  bool exit_when_finished = false;
  // In-flight RPCs get this long at shutdown.
  double shutdown_grace_s = 5;
  // When set, the round records are (re)written here as CSV after every
  // round (coordinator/round_report.h).
  std::string rounds_csv;
  // Largest gRPC message; must exceed download_chunk_bytes + 1 KiB.
  int64_t max_message_bytes = 4 << 20;
  // "debug", "info", "warning" or "error".
  std::string log_level = "info";

  // --- [model] -----------------------------------------------------------
  // Zoo architecture (models/zoo.h) is federation.architecture; the initial
  // weights come from this seed.
  int64_t model_seed = 1;

  // --- [evaluation] ------------------------------------------------------
  // Fashion-MNIST directory whose test split scores each new global model;
  // empty disables evaluation.
  std::string eval_data = "/usr/share/datasets/fashion-mnist";
  int64_t eval_batch_size = 1000;
  // LibTorch intra-op threads for evaluation; 0 leaves LibTorch's default.
  int eval_threads = 0;

  // --- [federation], [train], [model] name/model_id ------------------------
  // Defaults: see DefaultFederationOptions().
  FederationOptions federation;

  // --- [strategy] ---------------------------------------------------------
  StrategySpec strategy = DefaultStrategySpec();

  // --- [deploy] -----------------------------------------------------------
  DeployConfig deploy;

  // --- [state] (coordinator/store/run_config.h) ----------------------------
  StateOptions state;

  CoordinatorConfig();
};

// FederationOptions defaults with a usable task configuration: 1 local
// epoch, batch 32, SGD with learning rate 0.05, the "fp32" codec.
FederationOptions DefaultFederationOptions();

// Reads TOML text over the values already in `*config` (keys absent from
// the text keep their value). kInvalidArgument listing every problem
// (syntax, type, range, unknown key), each with its key path.
absl::Status ParseCoordinatorConfig(std::string_view toml, std::string_view source, CoordinatorConfig* config);
// Same for a file; kNotFound if it does not exist.
absl::Status LoadCoordinatorConfig(const std::string& path, CoordinatorConfig* config);

// Cross-field checks after file and flags are merged: TLS material given,
// admin_cn only with client_ca,
// federation options valid, chunk size below the message limit,
// exit_when_finished only with a round limit, deployment settings in range
// with a proxy_data directory when deploying. kInvalidArgument naming the
// setting to fix.
absl::Status ValidateCoordinatorConfig(const CoordinatorConfig& config);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_COORDINATOR_CONFIG_H_
