// File: gateway/gateway_server.h
//
// The gateway as a network service (`fedge-gateway`): `GatewayServer` serves
// the device protocol (the `Coordinator` gRPC service, coordinator/
// device_service.h) from a `Gateway` over mutual TLS, each device bound to
// its certificate's CN, and a driver thread calls Gateway::Tick() every
// `tick_interval` so the site follows the coordinator.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(auto server, GatewayServer::Start(options, gateway.get()));
//   server->Wait();  // until RequestStop()
//
// Thread-safety: all methods are safe to call concurrently, except that the
// destructor must not race with other calls.
#ifndef FEDGE_GATEWAY_GATEWAY_SERVER_H_
#define FEDGE_GATEWAY_GATEWAY_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/tls.h"
#include "gateway/gateway.h"

namespace fedge {

struct GatewayServerOptions {
  // host:port for the site's devices; port 0 picks a free one (port()).
  std::string listen_address = "127.0.0.1:50061";
  // The gateway's server certificate chain and key, which devices trust.
  TlsKeyCertPair tls;
  // PEM certificate(s) of the CA that issues device certificates (the
  // coordinator's device CA). Required: a gateway serves only devices it
  // can authenticate, since it acts for them upstream.
  std::string client_ca_pem;
  // How often the driver thread calls Gateway::Tick().
  absl::Duration tick_interval = absl::Milliseconds(200);
  // In-flight RPCs get this long to finish when Wait() shuts down.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Largest gRPC message received or sent (a chunk plus framing).
  int max_message_bytes = 4 << 20;
};

class GatewayServer {
 public:
  // Binds and starts serving. `gateway` is borrowed and must outlive the
  // server. kInvalidArgument for bad options; kUnavailable when the address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(GatewayServerOptions options, Gateway* gateway);
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  int port() const;
  // Asks the server to stop; Wait() then returns. Idempotent.
  void RequestStop();
  // Blocks until a stop is requested, then stops the driver thread and
  // shuts down, giving in-flight RPCs `shutdown_grace`.
  void Wait();

 private:
  struct Impl;
  explicit GatewayServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_GATEWAY_GATEWAY_SERVER_H_
