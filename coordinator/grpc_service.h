// File: coordinator/grpc_service.h
//
// The coordinator as a network service: `CoordinatorServer` serves the
// `Coordinator` and `Admin` gRPC services of proto/fedge.proto over TLS and
// forwards every call to a `Federation` (coordinator/federation.h), which
// holds all round logic. The adapter only translates: each RPC calls the
// Federation method of the same name, and absl::Status codes and messages
// become grpc::Status codes and messages one to one (the two code spaces are
// numerically identical), so a device sees exactly the error the Federation
// returned.
//
// A driver thread calls `Federation::Tick()` every `tick_interval`, logs
// every completed round and hands its record to `on_round`. The server stops
// on `RequestStop()` (e.g. from a signal-handling thread), on `Shutdown()`,
// or by itself once the federation has run all its rounds when
// `exit_when_finished` is set.
//
// Usage:
//   CoordinatorServerOptions options;
//   options.listen_address = "0.0.0.0:50051";
//   FEDGE_ASSIGN_OR_RETURN(options.tls, LoadKeyCertPair(cert, key));
//   FEDGE_ASSIGN_OR_RETURN(auto server, CoordinatorServer::Start(options, federation.get()));
//   server->Wait();  // until RequestStop() or the last round
//
// Mutual TLS and identity binding: with `client_ca_pem` set, the TLS
// handshake requires a client certificate that verifies against that CA
// (a client without one, or with one from another CA, cannot connect), and
// every Coordinator RPC must name, in its device_id field, exactly the
// subject common name (CN) of that certificate; otherwise the RPC fails
// with kPermissionDenied naming both ids and never reaches the Federation.
// The Admin service (admin_service.h: status, the fleet registry, models,
// backups) then answers only the client whose certificate CN equals
// `admin_common_name`. Without `client_ca_pem` the connection is
// server-authenticated only and a device is whoever its device_id says.
//
// Message sizes: model downloads and update uploads are chunked by the
// protocol, so the gRPC message limit bounds a chunk, not a model; the
// default limit leaves room for a 1 MiB chunk plus framing.
//
// Enrolment (`enrolment` set, enrolment.h): the `Enrollment` service is
// served on the same port. A device enrolling has no certificate yet, so
// the handshake then requests a client certificate and verifies one that is
// presented, but lets a client without one connect; such a caller reaches
// Enrollment.Enroll only — every Coordinator and Admin RPC refuses a peer
// without a verified certificate with kPermissionDenied (peer_identity.h).
// One port means one address and one firewall rule for devices; the
// alternative, a second listener, would buy nothing the per-RPC check does
// not already give (coordinator/README.md, "Enrolment").
#ifndef FEDGE_COORDINATOR_GRPC_SERVICE_H_
#define FEDGE_COORDINATOR_GRPC_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/enrolment.h"
#include "coordinator/federation.h"
#include "core/tls.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct CoordinatorServerOptions {
  // --- Behaviour ---------------------------------------------------------
  // host:port to listen on; port 0 picks a free port (see
  // CoordinatorServer::port()).
  std::string listen_address = "127.0.0.1:50051";
  // Server certificate chain and key (required; see core/tls.h).
  TlsKeyCertPair tls;
  // PEM certificate(s) of the CA(s) that issue device certificates
  // (LoadCaCerts). Non-empty turns on mutual TLS and identity binding (see
  // the file comment); empty accepts any TLS client.
  std::string client_ca_pem;
  // With client_ca_pem: the certificate CN allowed to call Admin.GetStatus.
  // Empty refuses GetStatus to every client. Must be empty without
  // client_ca_pem.
  std::string admin_common_name;
  // The --state directory Admin.Backup copies (admin_backup.h); empty (state
  // in memory) refuses backups.
  std::string state_dir;
  // Serves Enrollment and the Admin enrolment calls; needs client_ca_pem.
  // Borrowed; must outlive the server. Null: enrolment is off.
  Enrolment* enrolment = nullptr;
  // How often the driver thread calls Federation::Tick(). Zero or negative
  // starts no driver thread: the owner calls Tick() itself (tests).
  absl::Duration tick_interval = absl::Milliseconds(200);
  // Stop serving once Federation::finished() (all max_rounds completed).
  // Needs the driver thread.
  bool exit_when_finished = false;
  // In-flight RPCs get this long to finish when Wait() shuts down.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Called on the driver thread with each completed round, after it is
  // logged (e.g. to append it to a CSV file). Must not call Shutdown() or
  // Wait(); RequestStop() is fine.
  std::function<void(const proto::RoundRecord&)> on_round;

  // --- Performance -------------------------------------------------------
  // Largest gRPC message received or sent. Must exceed the federation's
  // download_chunk_bytes and the devices' upload chunk size plus ~1 KiB of
  // framing.
  int max_message_bytes = 4 << 20;
};

// Returns kInvalidArgument naming the first bad field.
absl::Status ValidateCoordinatorServerOptions(const CoordinatorServerOptions& options);

// Owns a running grpc::Server and its driver thread.
// Thread-safety: all methods are safe to call concurrently, except that the
// destructor must not race with other calls.
class CoordinatorServer {
 public:
  // Binds `options.listen_address` and starts serving. `federation` is
  // borrowed and must outlive the server. kInvalidArgument for bad options;
  // kUnavailable when the address cannot be bound (in use, bad host).
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(CoordinatorServerOptions options,
                                                                   Federation* federation);
  // Shuts down immediately if still running (in-flight RPCs are cancelled).
  ~CoordinatorServer();
  CoordinatorServer(const CoordinatorServer&) = delete;
  CoordinatorServer& operator=(const CoordinatorServer&) = delete;

  // The bound TCP port (the chosen one when the address asked for port 0).
  int port() const;

  // Asks the server to stop; Wait() then returns. Idempotent. Not
  // async-signal-safe: call it from a thread, not a signal handler.
  void RequestStop();
  // True once RequestStop() was called or the federation finished with
  // exit_when_finished set.
  bool stop_requested() const;
  // Blocks until a stop is requested, then shuts down, giving in-flight
  // RPCs `shutdown_grace`.
  void Wait();
  // Stops the driver thread, then stops accepting RPCs and waits up to
  // `grace` for in-flight ones before cancelling them. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  struct Impl;
  explicit CoordinatorServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_GRPC_SERVICE_H_
