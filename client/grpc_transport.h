// File: client/grpc_transport.h
//
// `Transport` (core/transport.h) over gRPC with TLS: each call goes to the
// coordinator's `Coordinator` service (proto/fedge.proto) with its own
// deadline, and grpc::Status becomes absl::Status one to one (same code,
// same message), so a device reacts to a remote Federation exactly as to an
// in-process one: kUnavailable / kDeadlineExceeded are transient, the rest
// are answers (see core/transport.h).
//
// The channel connects lazily on the first call and reconnects by itself.
// A call made while the channel is not connected waits up to
// `connect_wait` for it to connect (which is also what drives gRPC's
// connection attempt forward), then goes ahead: while the coordinator is
// unreachable, or when the TLS handshake fails (e.g. the device trusts a
// different certificate), it fails with kUnavailable instead of waiting out
// its deadline.
//
// Mutual TLS: with `client_cert_pem_path` / `client_key_pem_path` the
// device presents that certificate in the handshake. A coordinator started
// with a client CA (coordinator/grpc_service.h) requires one and accepts a
// call only when its device_id equals the certificate's subject common name;
// anything else fails with kPermissionDenied. The pair is loaded and checked
// (both PEMs parse, the key matches, the certificate is currently valid) in
// Create(), so a broken pair fails before the first call.
//
// Usage:
//   GrpcTransportOptions options;
//   options.target = "127.0.0.1:50051";
//   options.root_cert_pem_path = "certs/cert.pem";
//   options.client_cert_pem_path = "certs/devices/device-0/cert.pem";  // optional
//   options.client_key_pem_path = "certs/devices/device-0/key.pem";
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, CreateGrpcTransport(options));
//
// No LibTorch here: the transport links only fedge::core, fedge::tls and gRPC.
#ifndef FEDGE_CLIENT_GRPC_TRANSPORT_H_
#define FEDGE_CLIENT_GRPC_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/transport.h"

namespace fedge {

struct GrpcTransportOptions {
  // The coordinator's address, host:port (any gRPC target URI works).
  std::string target;
  // PEM certificate(s) the device trusts for the coordinator: the
  // coordinator's self-signed certificate or the CA that issued it. Empty
  // uses gRPC's default root store.
  std::string root_cert_pem_path;
  // The device's own certificate chain and private key (PEM files) for
  // mutual TLS; both or neither. Empty: no client certificate.
  std::string client_cert_pem_path;
  std::string client_key_pem_path;
  // Deadline of every call.
  absl::Duration rpc_timeout = absl::Seconds(30);
  // Checks the server certificate against this name instead of the host in
  // `target` (e.g. when dialling by an IP the certificate does not list).
  // Testing and development only.
  std::string ssl_target_name_override;
  // Largest message received; must exceed the coordinator's download chunk
  // plus ~1 KiB of framing.
  int max_receive_message_bytes = 4 << 20;
  // How long a call waits for the channel to connect when it is not
  // connected (then it is made anyway and fails with kUnavailable if the
  // channel is still down); capped at rpc_timeout. Without it (zero) a
  // connection attempt advances only every 5 s (gRPC's backup poller), so
  // reconnecting after an outage takes about 15 s.
  absl::Duration connect_wait = absl::Milliseconds(500);
  // Longest wait between reconnection attempts while the coordinator is
  // unreachable (gRPC's default of 120 s would leave a device idle for two
  // minutes after a coordinator restart). Calls during the wait fail
  // with kUnavailable.
  absl::Duration max_reconnect_backoff = absl::Seconds(10);
};

// Counters of one transport since creation. Bytes are serialised protobuf
// message sizes (what the application sends and receives), excluding
// HTTP/2 and TLS framing.
struct TransportStats {
  uint64_t calls = 0;
  uint64_t failed_calls = 0;
  uint64_t bytes_sent = 0;      // requests of successful calls (a failed one may not have left the device)
  uint64_t bytes_received = 0;  // responses of successful calls
};

// Thread-safety: safe for concurrent use (gRPC channels and stubs are).
class GrpcTransport final : public Transport {
 public:
  // kInvalidArgument for an empty target, a non-positive timeout or
  // backoff, a negative connect_wait, a root file without a PEM
  // certificate, only one of the client certificate and key, or a client
  // pair that does not parse or match;
  // kFailedPrecondition for an expired or not-yet-valid client
  // certificate; kNotFound when a named file does not exist. Does not
  // connect.
  static absl::StatusOr<std::unique_ptr<GrpcTransport>> Create(const GrpcTransportOptions& options);
  ~GrpcTransport() override;

  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override;
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override;
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override;
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override;
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override;
  absl::StatusOr<proto::SecAggResponse> SecAgg(const proto::SecAggRequest& request) override;

  TransportStats stats() const;

 private:
  struct Impl;
  explicit GrpcTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// GrpcTransport::Create as the plain interface the device agent takes.
absl::StatusOr<std::unique_ptr<Transport>> CreateGrpcTransport(const GrpcTransportOptions& options);

}  // namespace fedge

#endif  // FEDGE_CLIENT_GRPC_TRANSPORT_H_
