// fedge-gateway: a site's aggregation tier (gateway/README.md).
//
//   fedge-gateway --coordinator coord:50051 --coordinator-root-cert coord.pem
//     --coordinator-key signing.pem.pub --gateway-cert gw/cert.pem --gateway-key gw/key.pem
//     --listen 0.0.0.0:50061 --tls-cert site.pem --tls-key site-key.pem --client-ca ca.pem
//     --state /var/lib/fedge-gateway [--config gateway.toml]
//
// Downward it serves the site's devices the device protocol over mutual TLS
// (device certificates from the coordinator's device CA); upward it is one
// device of the coordinator, authenticated by its own certificate, whose CN
// is its id. [gateway] in --config sets its site rounds
// (docs/configuration.md).
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "client/grpc_transport.h"
#include "core/config.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/shutdown_signal.h"
#include "core/status.h"
#include "core/tls.h"
#include "gateway/gateway.h"
#include "gateway/gateway_server.h"
#include "settings/gateway_settings.h"

namespace fedge {
namespace {

struct GatewayFlags {
  std::string config;
  std::string gateway_id;  // default: the CN of --gateway-cert
  // Upward: the coordinator.
  std::string coordinator;
  std::string coordinator_root_cert;
  std::string coordinator_key;
  std::string gateway_cert;
  std::string gateway_key;
  // Downward: the site's devices.
  std::string listen = "127.0.0.1:50061";
  std::string tls_cert;
  std::string tls_key;
  std::string generate_dev_tls;
  std::string client_ca;
  std::string state_dir;
  uint64_t seed = 1;
  int tick_interval_ms = 200;
  std::string log_level = "info";
  GatewaySettings settings;
};

void AddFlags(CLI::App& app, GatewayFlags& f) {
  app.add_option("--config", f.config, "TOML file whose [gateway] table sets the site rounds");
  app.add_option("--gateway-id", f.gateway_id, "its device id at the coordinator (default: --gateway-cert's CN)");
  app.add_option("--coordinator", f.coordinator, "the coordinator's host:port")->required();
  app.add_option("--coordinator-root-cert", f.coordinator_root_cert,
                 "PEM certificate (or CA) the gateway trusts for the coordinator")
      ->required();
  app.add_option("--coordinator-key", f.coordinator_key,
                 "the coordinator's artifact signing public key (PEM): relayed models must verify")
      ->required();
  app.add_option("--gateway-cert", f.gateway_cert, "the gateway's client certificate at the coordinator (PEM)")
      ->required();
  app.add_option("--gateway-key", f.gateway_key, "its private key (PEM)")->required();
  app.add_option("--listen", f.listen, "host:port for the site's devices (port 0: any free port)");
  app.add_option("--tls-cert", f.tls_cert, "server certificate chain the site's devices trust (PEM)");
  app.add_option("--tls-key", f.tls_key, "its private key (PEM)");
  app.add_option("--generate-dev-tls", f.generate_dev_tls,
                 "instead of --tls-cert/--tls-key: keep or create a development pair DIR/{cert,key}.pem");
  app.add_option("--client-ca", f.client_ca, "PEM CA that issues the site's device certificates")->required();
  app.add_option("--state", f.state_dir, "directory for the open site round (empty: memory only)");
  app.add_option("--seed", f.seed, "seeds the stochastic rounding of the combined updates");
  app.add_option("--tick-interval-ms", f.tick_interval_ms, "how often the gateway follows the coordinator")
      ->check(CLI::Range(1, 60'000));
  app.add_option("--log-level", f.log_level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
}

absl::Status ReadConfig(GatewayFlags& f) {
  if (f.config.empty()) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Load(f.config));
  ReadGatewayTable(file.root().Section("gateway"), &f.settings);
  FEDGE_RETURN_IF_ERROR(file.Finish());
  if (f.settings.sites > 0) {
    return absl::InvalidArgumentError("[gateway] sites is fedge-sim's (simulated gateways); remove it here");
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsKeyCertPair> ServerTls(const GatewayFlags& f) {
  if (!f.tls_cert.empty()) return LoadKeyCertPair(f.tls_cert, f.tls_key);
  if (f.generate_dev_tls.empty()) {
    return absl::InvalidArgumentError("give the gateway's server pair (--tls-cert/--tls-key) or --generate-dev-tls DIR");
  }
  FEDGE_ASSIGN_OR_RETURN(DevTlsFiles files, EnsureDevTlsPair(f.generate_dev_tls));
  FEDGE_LOG(INFO) << "development TLS pair " << files.cert_path << "; the site's devices trust it";
  return LoadKeyCertPair(files.cert_path, files.key_path);
}

absl::Status Run(GatewayFlags f) {
  SetMinLogLevel(ParseLogLevel(f.log_level));
  FEDGE_RETURN_IF_ERROR(ReadConfig(f));
  if (f.gateway_id.empty()) {
    FEDGE_ASSIGN_OR_RETURN(std::string cert, ReadFile(f.gateway_cert));
    FEDGE_ASSIGN_OR_RETURN(f.gateway_id, CertCommonName(cert));
  }
  GrpcTransportOptions up;
  up.target = f.coordinator;
  up.root_cert_pem_path = f.coordinator_root_cert;
  up.client_cert_pem_path = f.gateway_cert;
  up.client_key_pem_path = f.gateway_key;
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<GrpcTransport> upstream, GrpcTransport::Create(up));
  FEDGE_ASSIGN_OR_RETURN(VerifyKey key, VerifyKey::FromPemFile(f.coordinator_key));
  GatewayOptions options = GatewayOptionsFrom(f.settings, f.gateway_id);
  options.state_dir = f.state_dir;
  options.seed = f.seed;
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Gateway> gateway,
                         Gateway::Create(options, upstream.get(), std::move(key), Clock::Real()));
  GatewayServerOptions serving;
  serving.listen_address = f.listen;
  FEDGE_ASSIGN_OR_RETURN(serving.tls, ServerTls(f));
  FEDGE_ASSIGN_OR_RETURN(serving.client_ca_pem, LoadCaCerts(f.client_ca));
  serving.tick_interval = absl::Milliseconds(f.tick_interval_ms);
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<GatewayServer> server, GatewayServer::Start(serving, gateway.get()));
  FEDGE_LOG(INFO) << "fedge-gateway " << f.gateway_id << " serving on " << f.listen << " (port " << server->port()
                  << ") for coordinator " << f.coordinator;

  FEDGE_RETURN_IF_ERROR(InstallShutdownSignals());
  std::thread waiter([&server] {
    if (const int sig = WaitForShutdownSignal(); sig != 0) {
      FEDGE_LOG(INFO) << "received " << strsignal(sig) << "; shutting down";
    }
    server->RequestStop();
  });
  server->Wait();
  WakeShutdownWaiter();
  waiter.join();
  const GatewayCounters c = gateway->counters();
  FEDGE_LOG(INFO) << "stopped: " << c.site_rounds_forwarded << " site rounds forwarded, " << c.site_rounds_dropped
                  << " dropped; " << c.device_updates_accepted << " device updates (" << c.bytes_from_devices
                  << " bytes) combined into " << c.bytes_upstream << " bytes upstream";
  return absl::OkStatus();
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  fedge::GatewayFlags flags;
  CLI::App app{"fedge-gateway: a site's aggregation tier between devices and the coordinator (gateway/README.md)"};
  app.option_defaults()->always_capture_default();
  fedge::AddFlags(app, flags);
  CLI11_PARSE(app, argc, argv);
  if (const absl::Status status = fedge::Run(std::move(flags)); !status.ok()) {
    FEDGE_LOG(ERROR) << "fedge-gateway: " << status;
    return 1;
  }
  return 0;
}
