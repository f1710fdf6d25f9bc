// File: coordinator/device_service.h
//
// `DeviceService` serves the `Coordinator` gRPC service of proto/fedge.proto
// — the device protocol — over any `Transport` (core/transport.h): the
// coordinator serves its Federation with it (grpc_service.h), a gateway
// serves itself (gateway/gateway_server.h). It only translates: each RPC
// calls the Transport method of the same name, and absl::Status codes and
// messages become grpc::Status ones one to one (the two code spaces are
// numerically identical), so a device sees exactly the error the backend
// returned. Uploads use gRPC's callback API through Transport::UploadAsync,
// so a backend that answers once an update is durable keeps no thread asleep
// per upload in flight.
//
// Identity binding (`bind_identity`, mutual TLS): every call must name, in
// its device_id field, exactly the subject CN of the caller's verified client
// certificate; otherwise it fails with kPermissionDenied naming both ids and
// never reaches the backend (peer_identity.h).
//
// Thread-safety: safe for concurrent calls, as the backend must be.
#ifndef FEDGE_COORDINATOR_DEVICE_SERVICE_H_
#define FEDGE_COORDINATOR_DEVICE_SERVICE_H_

#include <functional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "core/transport.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {

// absl and gRPC share the canonical code numbering, so the mapping is a cast.
grpc::Status ToGrpcStatus(const absl::Status& status);

class DeviceService final : public proto::Coordinator::WithCallbackMethod_Upload<proto::Coordinator::Service> {
 public:
  // Called after a successful Register under identity binding with the
  // device id and the hex SHA-256 of its certificate (the coordinator's
  // fleet registry keeps it).
  using OnRegistered = std::function<void(const std::string& device_id, const std::string& certificate_sha256)>;

  // `backend` is borrowed and must outlive the service.
  DeviceService(Transport* backend, bool bind_identity, OnRegistered on_registered = nullptr)
      : backend_(backend), bind_identity_(bind_identity), on_registered_(std::move(on_registered)) {}

  grpc::Status Register(grpc::ServerContext* context, const proto::RegisterRequest* request,
                        proto::RegisterResponse* response) override;
  grpc::Status PollTask(grpc::ServerContext* context, const proto::PollTaskRequest* request,
                        proto::PollTaskResponse* response) override;
  grpc::Status Download(grpc::ServerContext* context, const proto::DownloadRequest* request,
                        proto::DownloadResponse* response) override;
  grpc::ServerUnaryReactor* Upload(grpc::CallbackServerContext* context, const proto::UploadRequest* request,
                                   proto::UploadResponse* response) override;
  grpc::Status Report(grpc::ServerContext* context, const proto::DeviceReport* request,
                      proto::ReportResponse* response) override;
  grpc::Status SecAgg(grpc::ServerContext* context, const proto::SecAggRequest* request,
                      proto::SecAggResponse* response) override;

 private:
  // Checks the caller's identity before the backend sees the request.
  template <typename Response, typename Call>
  grpc::Status Serve(std::string_view method, grpc::ServerContext* context, std::string_view device_id, Call call,
                     Response* response);

  Transport* const backend_;
  const bool bind_identity_;
  const OnRegistered on_registered_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_DEVICE_SERVICE_H_
