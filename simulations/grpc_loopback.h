// File: simulations/grpc_loopback.h
//
// `GrpcLoopback` puts the real network stack between simulated devices and
// the coordinator: it serves a `Federation` with `CoordinatorServer`
// (coordinator/grpc_service.h) on a free 127.0.0.1 port with a fresh
// self-signed TLS certificate, and connects one `GrpcTransport`
// (client/grpc_transport.h) to it that every virtual device shares
// (`fedge-sim run --transport grpc`). Rounds are still driven by the
// simulator's own `Federation::Tick()` calls (no server driver thread), so
// a run over gRPC produces the same rounds.csv as the in-process one.
//
// LibTorch-free. Thread-safety: transport() is safe for concurrent use.
#ifndef FEDGE_SIMULATIONS_GRPC_LOOPBACK_H_
#define FEDGE_SIMULATIONS_GRPC_LOOPBACK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/federation.h"
#include "core/transport.h"

namespace fedge {

class CoordinatorServer;

class GrpcLoopback {
 public:
  // `federation` is borrowed and must outlive the loopback. kUnavailable
  // when no port can be bound; kInternal when TLS material cannot be made.
  static absl::StatusOr<std::unique_ptr<GrpcLoopback>> Start(Federation* federation);
  ~GrpcLoopback();
  GrpcLoopback(const GrpcLoopback&) = delete;
  GrpcLoopback& operator=(const GrpcLoopback&) = delete;

  // The devices' side of the connection.
  Transport* transport() const { return transport_.get(); }
  int port() const;

 private:
  GrpcLoopback() = default;
  std::string cert_dir_;  // holds the certificate the client trusts
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_GRPC_LOOPBACK_H_
