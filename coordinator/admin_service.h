// File: coordinator/admin_service.h
//
// The `Admin` gRPC service of proto/fedge.proto, as CoordinatorServer
// (grpc_service.h) serves it: GetStatus, ListDevices (paged), GetDevice,
// ListModels, GetRollout and ControlRollout — each forwarded to the
// Federation method of the same name (federation_fleet.cc,
// federation_rollout.cc) — Backup (admin_backup.h), and enrolment's
// CreateTokens, ApproveDevice and RevokeDevice (enrolment.h). fedgectl
// (ctl/) is its client.
//
// Who may call: under mutual TLS only the client whose certificate CN is
// `admin_name` (empty refuses everyone); without mutual TLS anyone who can
// reach the port, except Backup (writes files on the coordinator's host),
// ControlRollout (changes what devices serve) and the enrolment calls
// (mint identities), which are refused unless the admin certificate is
// checked.
//
// Thread-safety: gRPC calls the methods concurrently; the Federation is
// thread-safe and the service holds no mutable state.
#ifndef FEDGE_COORDINATOR_ADMIN_SERVICE_H_
#define FEDGE_COORDINATOR_ADMIN_SERVICE_H_

#include <string>
#include <string_view>

#include "coordinator/enrolment.h"
#include "coordinator/federation.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {

class AdminService final : public proto::Admin::Service {
 public:
  // `require_admin`: mutual TLS is on, so only `admin_name` may call.
  // `state_dir`: the coordinator's --state directory (empty: in memory, no
  // backups). `federation` is borrowed.
  // `enrolment` (borrowed; null: enrolment is off) serves CreateTokens,
  // ApproveDevice and RevokeDevice, which need the admin certificate.
  AdminService(Federation* federation, bool require_admin, std::string admin_name, std::string state_dir,
               Enrolment* enrolment = nullptr);

  grpc::Status GetStatus(grpc::ServerContext* context, const proto::StatusRequest* request,
                         proto::StatusResponse* response) override;
  grpc::Status ListDevices(grpc::ServerContext* context, const proto::ListDevicesRequest* request,
                           proto::ListDevicesResponse* response) override;
  grpc::Status GetDevice(grpc::ServerContext* context, const proto::GetDeviceRequest* request,
                         proto::DeviceSummary* response) override;
  grpc::Status ListModels(grpc::ServerContext* context, const proto::ListModelsRequest* request,
                          proto::ListModelsResponse* response) override;
  grpc::Status GetRollout(grpc::ServerContext* context, const proto::RolloutRequest* request,
                          proto::RolloutStatus* response) override;
  grpc::Status ControlRollout(grpc::ServerContext* context, const proto::RolloutControlRequest* request,
                              proto::RolloutStatus* response) override;
  grpc::Status Backup(grpc::ServerContext* context, const proto::BackupRequest* request,
                      proto::BackupResponse* response) override;
  // Enrolment (coordinator/enrolment.h); refused without mutual TLS.
  grpc::Status CreateTokens(grpc::ServerContext* context, const proto::CreateTokensRequest* request,
                            proto::CreateTokensResponse* response) override;
  grpc::Status ApproveDevice(grpc::ServerContext* context, const proto::DeviceActionRequest* request,
                             proto::DeviceSummary* response) override;
  grpc::Status RevokeDevice(grpc::ServerContext* context, const proto::DeviceActionRequest* request,
                            proto::DeviceSummary* response) override;

 private:
  // OK when the caller may use `method`.
  grpc::Status Authorize(const grpc::ServerContext& context, std::string_view method) const;
  // Authorize, for a call that needs the admin certificate checked and
  // enrolment on.
  grpc::Status AuthorizeEnrolment(const grpc::ServerContext& context, std::string_view method) const;

  Federation* const federation_;
  const bool require_admin_;
  const std::string admin_name_;
  const std::string state_dir_;
  Enrolment* const enrolment_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ADMIN_SERVICE_H_
