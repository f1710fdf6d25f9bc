// File: client/device_config.h
//
// Configuration of the `fedge-device` agent, read from a TOML file with
// core/config.h (typed reads, unknown keys are errors; [model] and [dp] are
// the device's part of the shared schema, settings/federation_settings.h,
// with the same keys, ranges and messages), and the selection of
// the device's local examples: an IID shard of a dataset by a seeded
// permutation, or an explicit index file.
//
// File format (every key optional; flags of fedge-device override them):
//
//   device_id = "device-0"        # identity registered with the coordinator
//   seed = 1                      # training / backoff seed of this device
//   log_level = "info"            # debug | info | warning | error
//
//   [coordinator]
//   address = "localhost:50051"   # host:port of the coordinator
//   root_cert = "certs/ca.pem"    # PEM certificate(s) to trust for TLS
//   tls_cert = ""                 # mutual TLS: this device's certificate (PEM)...
//   tls_key = ""                  # ...and its private key; both or neither
//   public_key = "keys/coordinator.pub.pem"  # pinned Ed25519 model-signing key
//   ssl_target_name_override = "" # testing only
//   rpc_timeout_seconds = 30.0
//   transport = "grpc"            # grpc | mqtt (through the [mqtt] broker)
//
//   [mqtt]                        # with transport = "mqtt" (settings/mqtt_settings.h)
//   broker = "ssl://broker:8883"  # TLS only
//   ca = ""  cert = ""  key = ""  # default: root_cert, tls_cert, tls_key above
//   topic_prefix = "fedge"
//
//   [data]                        # where examples come from (client/data/README.md)
//   source = "files"              # files (read once) | spool (a directory filled while running)
//   format = "idx"                # idx (Fashion-MNIST images) | csv (numeric features + label)
//   path = ""                     # csv: the file; spool: the directory
//   dir = "/usr/share/datasets/fashion-mnist"   # idx: the Fashion-MNIST IDX files
//   shard = 0                     # idx: this device's shard of the train split...
//   num_shards = 1                # ...out of this many IID shards
//   shard_seed = 1                # permutation seed shared by all devices
//   index_file = ""               # or: explicit example indices (overrides shards)
//   max_file_bytes = 67108864     # spool: larger files are refused whole
//   window = 0                    # the store's recent window (0: 1024, or a whole idx shard)
//   reservoir = 256               # the store's replay reservoir
//   train_examples = 0            # examples per training set (0: all stored)
//   [data.csv]                    # client/data/csv_reader.h
//   label_column = -1             # 0-based, -1 = last; the other columns are features
//   delimiter = ","               # "," ";" "\t" " "
//   header = false                # skip the first line of each file
//   feature_scale = 1.0           # multiplies every feature (1/255 for 8-bit pixels)
//   max_line_bytes = 1048576      # longer lines are bad rows
//   [data.preprocess]             # overrides, client/data/preprocess_config.h
//
//   [drift]                       # monitoring new data (client/drift_settings.h)
//   enabled = true                # default: true when the table is present
//   response = true, report_alarms = true, hold_examples = 0
//   [drift.detector]
//   name = "page_hinkley"         # with its own [drift.detector.<name>] table
//   signal = "error_prob", warmup_samples = 0, cooldown_samples = 1000, reference_examples = 200
//
//   [model]
//   name = "cnn_small"            # zoo model; must match the coordinator's
//   input_features = 0            # mlp_tabular: features per example (the CSV's feature columns)
//   num_classes = 10              # mlp_tabular: classes
//
//   [transfer]
//   download_chunk_bytes = 262144
//   upload_chunk_bytes = 262144
//   max_model_bytes = 268435456
//
//   [retry]
//   initial_backoff_ms = 500
//   max_backoff_ms = 60000
//   multiplier = 2.0
//   jitter = 0.2
//   max_attempts = 6
//
//   state_dir = ""                # keeps the error-feedback residual across restarts, sealed
//   state_key_file = ""           # AES-256 key sealing it, the outbox and dp.ledger, 0600 (default beside them)
//   inference_dir = ""            # serve the coordinator's deployed INT8 model from here
//   inference_socket = ""         # and answer local processes on this Unix socket
//   inference_health_examples = 200  # stored labelled examples each new model is checked on (0: none)
//   inference_min_accuracy = 0    # below this held-back accuracy a new model is rolled back
//
//   [dp]
//   ledger = ""                   # privacy ledger file; enables the lifetime budget
//   device_epsilon = 0            # this device's own lifetime budget (0: the federation's only)
//   delta = 1e-5                  # the delta epsilon is accounted at
//
//   [conditions]                  # client/device_conditions.h
//   min_battery_percent = 20      # on battery, train only above this charge
//   require_mains = false
//   max_load_per_core = 0         # 1-minute load average per core; 0: any
//   metered = false               # the link is metered...
//   train_on_metered = false      # ...and training over it is allowed
//   min_separation_s = 0          # pause after each accepted update
//   power_supply_dir = "/sys/class/power_supply"
//
//   [outbox]                      # with state_dir: updates that could not be sent, sealed (client/outbox.h)
//   max_records = 16              # 0: no outbox (such updates are dropped)
//   max_bytes = 67108864          # the oldest are evicted beyond either bound
//
//   [run]
//   torch_threads = 1
//   max_tasks = 0                 # stop after this many accepted updates (0: no limit)
//   max_idle_polls = 0            # stop after this many polls without a task (0: no limit)
//   max_consecutive_failures = 5  # 0: never; outages do not count with an outbox
#ifndef FEDGE_CLIENT_DEVICE_CONFIG_H_
#define FEDGE_CLIENT_DEVICE_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/data/csv_reader.h"
#include "client/data/preprocess_config.h"
#include "client/device.h"
#include "client/device_conditions.h"
#include "client/drift_settings.h"
#include "client/trainer.h"
#include "core/idx.h"
#include "settings/federation_settings.h"
#include "settings/mqtt_settings.h"

namespace fedge {

// Where the device's examples come from ([data]).
struct DeviceDataConfig {
  // "files": read once (IDX shard or a CSV file); "spool": a directory of
  // CSV files that arrive while the device runs.
  std::string source = "files";
  // "idx" (Fashion-MNIST images) or "csv" (features + label column).
  std::string format = "idx";
  // csv: the file; spool: the directory.
  std::string path;
  // idx: the directory of the IDX files, and the device's part of them.
  std::string dir = kDefaultFashionMnistDir;
  int64_t shard = 0;
  int64_t num_shards = 1;
  uint64_t shard_seed = 1;
  // When non-empty, the example indices to use instead of a shard.
  std::string index_file;
  // csv and spool files ([data.csv]); num_features and num_classes come
  // from [model] when the pipeline is built.
  CsvFormat csv = {};
  // spool: files above this size are refused whole.
  int64_t max_file_bytes = int64_t{64} << 20;
  // The store; window 0 = 1024 (or the whole idx shard), train_examples 0 =
  // everything stored. Explicit values are >= 1 (the simulator's reader).
  DataStoreSettings store{.window = 0, .reservoir = 256, .train_examples = 0};
  // [data.preprocess]: overrides of the format's preprocessing defaults.
  PreprocessOverrides preprocess = {};
};

// Drift monitoring on the device ([drift]).
struct DeviceDriftConfig {
  // Default: true when the [drift] table is present.
  bool enabled = false;
  DeviceDriftSettings settings = {};
};

// Everything fedge-device needs; plain values.
struct DeviceConfig {
  DeviceOptions device;
  TorchTrainerOptions trainer;
  RunLimits run;
  DeviceDataConfig data = {};
  DeviceDriftConfig drift = {};
  std::string log_level = "info";
  // Coordinator connection (mapped onto GrpcTransportOptions by main()).
  std::string address = "localhost:50051";
  std::string root_cert_path;
  // Client certificate and key for mutual TLS (both or neither). A
  // coordinator with a client CA accepts the device only as the
  // certificate's subject common name, which must equal device.device_id.
  std::string tls_cert_path;
  std::string tls_key_path;
  std::string public_key_path;
  std::string ssl_target_name_override;
  absl::Duration rpc_timeout = absl::Seconds(30);
  // coordinator.transport: "grpc" (to `address`) or "mqtt" (through the
  // broker of `mqtt`, mqtt/mqtt_transport.h).
  std::string transport = "grpc";
  // [mqtt] (settings/mqtt_settings.h); ca/cert/key empty take root_cert_path,
  // tls_cert_path and tls_key_path.
  MqttSettings mqtt;
  // Persisted inference slot (inference/model_slot.h): when set, the
  // device installs every newer deployed INT8 model the coordinator
  // advertises into <inference_dir>/active.fedge (previous.fedge keeps the
  // one before) and reports the version it serves. Empty: training only.
  std::string inference_dir;
  // The key sealing state_dir and the privacy ledger (core/sealing.h,
  // FileKeyProvider), created on first use; empty: <state_dir>/state.key, or
  // <ledger>.key without a state_dir. Keep it on other storage (or a
  // TPM-backed file) so a copied disk does not carry its own key.
  std::string state_key_file;
  // With inference_dir: answer classification requests of local processes
  // on this Unix socket (client/inference_server.h). Empty: no socket.
  std::string inference_socket;
  // Health check of each installed deployed model (client/inference_health.h):
  // accuracy on this many of the device's stored labelled examples (drawn
  // with a fixed seed); below inference_min_accuracy the slot rolls back.
  int64_t inference_health_examples = 200;
  double inference_min_accuracy = 0;
  // When the device may train ([conditions]; client/device_conditions.h).
  // conditions.min_separation_s is device.min_participation_interval.
  DeviceConditionsOptions conditions;
  // Privacy ledger file (privacy/privacy_ledger.h); empty: no ledger, and
  // DP-SGD tasks that carry a federation budget are refused.
  std::string privacy_ledger_path;
  // [dp] device_epsilon and delta: the ledger's budget is the lower of
  // device_epsilon (0: none of its own) and each task's dp_epsilon_budget.
  DpSettings dp;
};

// Defaults for every field (device_id "device-0").
DeviceConfig DefaultDeviceConfig();

// Reads a config file over `config` (absent keys keep their value).
// kNotFound for a missing file; kInvalidArgument listing every bad or
// unknown key.
absl::Status LoadDeviceConfig(const std::string& path, DeviceConfig* config);
// Same from TOML text; `source` names it in messages.
absl::Status ParseDeviceConfig(std::string_view text, std::string_view source, DeviceConfig* config);

// Cross-field checks once flags are applied: device options, shard within
// [0, num_shards), data.source / format / path consistent, required paths
// present, tls_cert and tls_key both or neither. kInvalidArgument naming the field. Files are not opened here: the
// client pair is read and checked (parses, key matches, not expired) by
// GrpcTransport::Create, which fedge-device calls before loading data.
absl::Status ValidateDeviceConfig(const DeviceConfig& config);

// Shard `shard` of `num_examples` examples split IID into `num_shards`
// near-equal parts by a permutation seeded with `seed` (every device with
// the same seed agrees on the split, so shards are disjoint). Sorted.
// kInvalidArgument unless 0 <= shard < num_shards <= num_examples.
absl::StatusOr<std::vector<int64_t>> IidShard(int64_t num_examples, int64_t shard, int64_t num_shards,
                                              uint64_t seed);

// Parses example indices separated by whitespace or commas; '#' starts a
// comment. kInvalidArgument for a non-integer, an index outside
// [0, num_examples), a duplicate, or no index at all.
absl::StatusOr<std::vector<int64_t>> ParseIndexList(std::string_view text, int64_t num_examples);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DEVICE_CONFIG_H_
