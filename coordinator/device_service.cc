#include "coordinator/device_service.h"

#include <utility>

#include "core/logging.h"
#include "coordinator/peer_identity.h"

namespace fedge {
namespace {

// Copies the backend's answer into the gRPC response slot. Internal errors
// are logged because they mean a bug of the backend, not a device's.
template <typename Response>
grpc::Status Answer(std::string_view method, grpc::ServerContextBase* context, absl::StatusOr<Response> result,
                    Response* response) {
  if (result.ok()) {
    *response = *std::move(result);
    return grpc::Status::OK;
  }
  if (absl::IsInternal(result.status()) || absl::IsUnknown(result.status())) {
    FEDGE_LOG(ERROR) << method << " from " << context->peer() << ": " << result.status();
  } else {
    FEDGE_LOG(DEBUG) << method << " from " << context->peer() << ": " << result.status();
  }
  return ToGrpcStatus(result.status());
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

template <typename Response, typename Call>
grpc::Status DeviceService::Serve(std::string_view method, grpc::ServerContext* context, std::string_view device_id,
                                  Call call, Response* response) {
  if (bind_identity_) {
    grpc::Status allowed = CheckPeerIs(*context, method, device_id, "device_id");
    if (!allowed.ok()) return allowed;
  }
  return Answer(method, context, call(), response);
}

grpc::Status DeviceService::Register(grpc::ServerContext* context, const proto::RegisterRequest* request,
                                     proto::RegisterResponse* response) {
  grpc::Status registered = Serve("Register", context, request->device().device_id(),
                                  [&] { return backend_->Register(*request); }, response);
  if (registered.ok() && bind_identity_ && on_registered_) {
    on_registered_(request->device().device_id(), PeerCertificateSha256(*context));
  }
  return registered;
}

grpc::Status DeviceService::PollTask(grpc::ServerContext* context, const proto::PollTaskRequest* request,
                                     proto::PollTaskResponse* response) {
  return Serve("PollTask", context, request->device_id(), [&] { return backend_->PollTask(*request); }, response);
}

grpc::Status DeviceService::Download(grpc::ServerContext* context, const proto::DownloadRequest* request,
                                     proto::DownloadResponse* response) {
  return Serve("Download", context, request->device_id(), [&] { return backend_->Download(*request); }, response);
}

grpc::ServerUnaryReactor* DeviceService::Upload(grpc::CallbackServerContext* context,
                                                const proto::UploadRequest* request,
                                                proto::UploadResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (bind_identity_) {
    if (grpc::Status allowed = CheckPeerIs(*context, "Upload", request->device_id(), "device_id"); !allowed.ok()) {
      reactor->Finish(allowed);
      return reactor;
    }
  }
  // gRPC keeps the context, request and response alive until Finish.
  backend_->UploadAsync(*request, [reactor, context, response](absl::StatusOr<proto::UploadResponse> answer) {
    reactor->Finish(Answer("Upload", context, std::move(answer), response));
  });
  return reactor;
}

grpc::Status DeviceService::Report(grpc::ServerContext* context, const proto::DeviceReport* request,
                                   proto::ReportResponse* response) {
  return Serve("Report", context, request->device_id(), [&] { return backend_->Report(*request); }, response);
}

grpc::Status DeviceService::SecAgg(grpc::ServerContext* context, const proto::SecAggRequest* request,
                                   proto::SecAggResponse* response) {
  return Serve("SecAgg", context, request->device_id(), [&] { return backend_->SecAgg(*request); }, response);
}

}  // namespace fedge
