// File: coordinator/coordinator_config.h
//
// The configuration of the `fedge-coordinator` service: the federation's
// settings in the schema every binary shares (settings/federation_settings.h:
// [model], [federation], [training], [strategy], [dp], [client_dp],
// [deploy] and the top-level name and seed) plus the service's own tables,
// read from a TOML file and overridden by command-line flags in
// coordinator_main.cc. A fedge-sim scenario is accepted as is: its
// simulation-only tables are skipped with a log line. docs/configuration.md
// lists every key. The service's tables:
//
//   [server]      listen, tls_cert, tls_key, generate_dev_tls, client_ca,
//                 admin_cn, signing_key,
//                 generate_signing_key, public_key, tick_interval_ms,
//                 exit_when_finished, shutdown_grace_s, rounds_csv,
//                 metrics_listen, device_offline_after_s,
//                 max_message_bytes, log_level
//   [evaluation]  data, batch_size, threads
//   [state]       dir, resume_grace_s, keep_models, durability
//                 (coordinator/store/run_config.h)
//   [enrolment]   ca_key, require_approval, certificate_days, crl
//                 (coordinator/enrolment.h)
//   [mqtt]        broker, ca, cert, key, client_id, topic_prefix,
//                 session_expiry_s, keep_alive_s (settings/mqtt_settings.h):
//                 with `broker` set, devices may also reach the federation
//                 through that MQTT broker (mqtt/mqtt_bridge.h)
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
#include "coordinator/store/run_config.h"
#include "settings/federation_settings.h"
#include "settings/mqtt_settings.h"

namespace fedge {

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
  // host:port of the Prometheus endpoint (GET /metrics, plain HTTP,
  // coordinator/coordinator_metrics.h); empty: off.
  std::string metrics_listen;
  // A device silent for this long counts as offline (metrics, fleet registry).
  double device_offline_after_s = 600;
  // Largest gRPC message; must exceed download_chunk_bytes + 1 KiB.
  int64_t max_message_bytes = 4 << 20;
  // "debug", "info", "warning" or "error".
  std::string log_level = "info";

  // --- [evaluation] ------------------------------------------------------
  // Fashion-MNIST directory whose test split scores each new global model;
  // empty disables evaluation.
  std::string eval_data = "/usr/share/datasets/fashion-mnist";
  int64_t eval_batch_size = 64;  // models/training.h kDefaultEvalBatchSize: bounds activation memory
  // LibTorch intra-op threads for evaluation; 0 leaves LibTorch's default.
  int eval_threads = 0;

  // --- The shared schema ----------------------------------------------------
  FederationSettings settings;

  // --- [state] (coordinator/store/run_config.h) ----------------------------
  StateOptions state;
  // --- [enrolment] (coordinator/enrolment.h) --------------------------------
  // Private key (PEM) of the device CA, whose certificate is the first in
  // client_ca. Set: devices enrol with tokens (needs client_ca and the
  // state dir). Empty: enrolment is off.
  std::string enrol_ca_key;
  // Enrolled devices wait in `pending` until `fedgectl device approve ID`.
  bool enrol_require_approval = false;
  // Validity of the certificates enrolment issues, in days.
  int64_t enrol_certificate_days = 365;
  // The CRL (PEM) rewritten on every revocation; empty: <state dir>/crl.pem.
  std::string enrol_crl;

  // --- [mqtt] (settings/mqtt_settings.h) ------------------------------------
  // `broker` set: the MQTT bridge serves the federation beside gRPC. Its
  // client id defaults to "fedge-coordinator", which must be the CN of
  // `cert` for the broker's ACL (deploy/mosquitto/acl).
  MqttSettings mqtt;
};

// Reads TOML text over the values already in `*config` (keys absent from
// the text keep their value). kInvalidArgument listing every problem
// (syntax, type, range, unknown key), each with its key path.
// `checks` restricts the model names (fedge-coordinator passes its zoo's).
absl::Status ParseCoordinatorConfig(std::string_view toml, std::string_view source, CoordinatorConfig* config,
                                    const SettingsChecks& checks = {});
// Same for a file; kNotFound if it does not exist.
absl::Status LoadCoordinatorConfig(const std::string& path, CoordinatorConfig* config,
                                   const SettingsChecks& checks = {});

// Cross-field checks after file and flags are merged: TLS material given,
// admin_cn only with client_ca, the federation options valid
// (coordinator/federation_setup.h), chunk size below the message limit,
// exit_when_finished only with a round limit, deployment settings in range,
// enrolment only with client_ca and a state dir.
// kInvalidArgument naming the setting to fix.
absl::Status ValidateCoordinatorConfig(const CoordinatorConfig& config);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_COORDINATOR_CONFIG_H_
