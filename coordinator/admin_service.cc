#include "coordinator/admin_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/admin_backup.h"
#include "coordinator/peer_identity.h"
#include "core/logging.h"
#include "core/strings.h"

namespace fedge {
namespace {

// absl and gRPC share the canonical code numbering, so the mapping is a cast.
template <typename Response>
grpc::Status Answer(absl::StatusOr<Response> result, Response* response) {
  if (!result.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(result.status().code()), std::string(result.status().message()));
  }
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

AdminService::AdminService(Federation* federation, bool require_admin, std::string admin_name, std::string state_dir,
                           Enrolment* enrolment)
    : federation_(federation),
      require_admin_(require_admin),
      admin_name_(std::move(admin_name)),
      state_dir_(std::move(state_dir)),
      enrolment_(enrolment) {}

grpc::Status AdminService::Authorize(const grpc::ServerContext& context, std::string_view method) const {
  if (!require_admin_) return grpc::Status::OK;
  if (admin_name_.empty()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat(AsAbsl(method), " is disabled under mutual TLS until server.admin_cn (--admin-cn) "
                                                     "names the admin certificate's common name"));
  }
  return CheckPeerIs(context, method, admin_name_, "the admin identity");
}

grpc::Status AdminService::AuthorizeEnrolment(const grpc::ServerContext& context, std::string_view method) const {
  if (!require_admin_) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat(AsAbsl(method), " mints or removes device identities: it is answered only under "
                                                     "mutual TLS (--client-ca) to the admin certificate (--admin-cn)"));
  }
  if (grpc::Status allowed = Authorize(context, method); !allowed.ok()) return allowed;
  if (enrolment_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat(AsAbsl(method), ": enrolment is off; start the coordinator with the device CA's "
                                                     "key ([enrolment] ca_key, --device-ca-key) and a --state dir"));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::GetStatus(grpc::ServerContext* context, const proto::StatusRequest* request,
                                     proto::StatusResponse* response) {
  if (grpc::Status allowed = Authorize(*context, "GetStatus"); !allowed.ok()) return allowed;
  *response = federation_->GetStatus(*request);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListDevices(grpc::ServerContext* context, const proto::ListDevicesRequest* request,
                                       proto::ListDevicesResponse* response) {
  if (grpc::Status allowed = Authorize(*context, "ListDevices"); !allowed.ok()) return allowed;
  return Answer(federation_->ListDevices(*request), response);
}

grpc::Status AdminService::GetDevice(grpc::ServerContext* context, const proto::GetDeviceRequest* request,
                                     proto::DeviceSummary* response) {
  if (grpc::Status allowed = Authorize(*context, "GetDevice"); !allowed.ok()) return allowed;
  return Answer(federation_->GetDevice(request->device_id()), response);
}

grpc::Status AdminService::ListModels(grpc::ServerContext* context, const proto::ListModelsRequest*,
                                      proto::ListModelsResponse* response) {
  if (grpc::Status allowed = Authorize(*context, "ListModels"); !allowed.ok()) return allowed;
  *response = federation_->ListModels();
  return grpc::Status::OK;
}

grpc::Status AdminService::GetRollout(grpc::ServerContext* context, const proto::RolloutRequest*,
                                      proto::RolloutStatus* response) {
  if (grpc::Status allowed = Authorize(*context, "GetRollout"); !allowed.ok()) return allowed;
  *response = federation_->GetRollout();
  return grpc::Status::OK;
}

grpc::Status AdminService::ControlRollout(grpc::ServerContext* context, const proto::RolloutControlRequest* request,
                                          proto::RolloutStatus* response) {
  if (!require_admin_) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "ControlRollout changes what devices serve: it is answered only under mutual TLS "
                        "(--client-ca) to the admin certificate (--admin-cn)");
  }
  if (grpc::Status allowed = Authorize(*context, "ControlRollout"); !allowed.ok()) return allowed;
  FEDGE_LOG(INFO) << "admin: rollout " << proto::RolloutControlRequest::Action_Name(request->action());
  return Answer(federation_->ControlRollout(request->action()), response);
}

grpc::Status AdminService::Backup(grpc::ServerContext* context, const proto::BackupRequest* request,
                                  proto::BackupResponse* response) {
  if (!require_admin_) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "Backup writes files on the coordinator's host: it is answered only under mutual TLS "
                        "(--client-ca) to the admin certificate (--admin-cn)");
  }
  if (grpc::Status allowed = Authorize(*context, "Backup"); !allowed.ok()) return allowed;
  absl::StatusOr<proto::BackupResponse> done = BackupForAdmin(state_dir_, request->path());
  if (!done.ok()) FEDGE_LOG(WARNING) << "Admin.Backup to " << request->path() << " failed: " << done.status();
  return Answer(std::move(done), response);
}

grpc::Status AdminService::CreateTokens(grpc::ServerContext* context, const proto::CreateTokensRequest* request,
                                        proto::CreateTokensResponse* response) {
  if (grpc::Status allowed = AuthorizeEnrolment(*context, "CreateTokens"); !allowed.ok()) return allowed;
  return Answer(enrolment_->CreateTokens(*request), response);
}

grpc::Status AdminService::ApproveDevice(grpc::ServerContext* context, const proto::DeviceActionRequest* request,
                                         proto::DeviceSummary* response) {
  if (grpc::Status allowed = AuthorizeEnrolment(*context, "ApproveDevice"); !allowed.ok()) return allowed;
  return Answer(enrolment_->Approve(request->device_id()), response);
}

grpc::Status AdminService::RevokeDevice(grpc::ServerContext* context, const proto::DeviceActionRequest* request,
                                        proto::DeviceSummary* response) {
  if (grpc::Status allowed = AuthorizeEnrolment(*context, "RevokeDevice"); !allowed.ok()) return allowed;
  return Answer(enrolment_->Revoke(request->device_id()), response);
}

}  // namespace fedge
