#include "gateway/gateway_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/device_service.h"
#include "coordinator/server_credentials.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {

struct GatewayServer::Impl {
  Impl(GatewayServerOptions o, Gateway* g)
      : options(std::move(o)), gateway(g), device_service(g, /*bind_identity=*/true) {}

  void DriverLoop();
  void RequestStop() {
    absl::MutexLock lock(&mu);
    stop_requested = true;
  }

  const GatewayServerOptions options;
  Gateway* const gateway;
  DeviceService device_service;  // outlives `server`
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::thread driver;

  absl::Mutex mu;
  bool stop_requested ABSL_GUARDED_BY(mu) = false;
  bool shut_down = false;  // Wait()/destructor, one thread
};

void GatewayServer::Impl::DriverLoop() {
  absl::Status last;
  while (true) {
    {
      absl::MutexLock lock(&mu);
      mu.AwaitWithTimeout(absl::Condition(&stop_requested), options.tick_interval);
      if (stop_requested) return;
    }
    absl::Status ticked = gateway->Tick();
    // A coordinator that is down is logged once, not every tick.
    if (!ticked.ok() && ticked.code() != last.code()) {
      FEDGE_LOG(WARNING) << "gateway: " << ticked << (IsTransient(ticked) ? " (retrying)" : "");
    } else if (ticked.ok() && !last.ok()) {
      FEDGE_LOG(INFO) << "gateway: the coordinator answers again";
    }
    last = ticked;
  }
}

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(GatewayServerOptions options, Gateway* gateway) {
  if (gateway == nullptr) return absl::InvalidArgumentError("gateway is null");
  if (options.tls.cert_chain_pem.empty() || options.tls.private_key_pem.empty()) {
    return absl::InvalidArgumentError("the gateway needs a server certificate and key (--tls-cert/--tls-key)");
  }
  if (options.client_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return absl::InvalidArgumentError(
        "the gateway needs the device CA (--client-ca): it serves only devices it can authenticate");
  }
  if (options.tick_interval <= absl::ZeroDuration()) return absl::InvalidArgumentError("tick_interval must be positive");
  auto impl = std::make_unique<Impl>(std::move(options), gateway);
  const GatewayServerOptions& opts = impl->options;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts.listen_address,
                           ServerTlsCredentials(opts.tls, opts.client_ca_pem, /*allow_without_certificate=*/false),
                           &impl->port);
  builder.RegisterService(&impl->device_service);
  builder.SetMaxReceiveMessageSize(opts.max_message_bytes);
  builder.SetMaxSendMessageSize(opts.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", opts.listen_address,
                                               ": address in use, unknown host, or bad TLS material"));
  }
  impl->driver = std::thread([raw = impl.get()] { raw->DriverLoop(); });
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(impl)));
}

GatewayServer::GatewayServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GatewayServer::~GatewayServer() {
  impl_->RequestStop();
  if (!impl_->shut_down) {
    if (impl_->driver.joinable()) impl_->driver.join();
    impl_->server->Shutdown(std::chrono::system_clock::now());
    impl_->server->Wait();
  }
}

int GatewayServer::port() const { return impl_->port; }

void GatewayServer::RequestStop() { impl_->RequestStop(); }

void GatewayServer::Wait() {
  {
    absl::MutexLock lock(&impl_->mu);
    impl_->mu.Await(absl::Condition(&impl_->stop_requested));
  }
  if (impl_->driver.joinable()) impl_->driver.join();
  impl_->server->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(impl_->options.shutdown_grace));
  impl_->server->Wait();
  impl_->shut_down = true;
}

}  // namespace fedge
