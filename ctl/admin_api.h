// File: ctl/admin_api.h
//
// The Admin service as fedgectl's commands see it: one method per RPC,
// answers or an absl::Status whose message says what to fix. AdminClient
// (admin_client.h) implements it over gRPC; tests use a fake.
//
// Thread-safety: implementations document their own.
#ifndef FEDGE_CTL_ADMIN_API_H_
#define FEDGE_CTL_ADMIN_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/fedge.pb.h"

namespace fedge::ctl {

class AdminApi {
 public:
  virtual ~AdminApi() = default;
  virtual absl::StatusOr<proto::StatusResponse> GetStatus(const proto::StatusRequest& request) = 0;
  virtual absl::StatusOr<proto::ListDevicesResponse> ListDevices(const proto::ListDevicesRequest& request) = 0;
  virtual absl::StatusOr<proto::DeviceSummary> GetDevice(const std::string& device_id) = 0;
  virtual absl::StatusOr<proto::ListModelsResponse> ListModels() = 0;
  virtual absl::StatusOr<proto::BackupResponse> Backup(const std::string& path) = 0;
  // Enrolment (enrol_commands.h).
  virtual absl::StatusOr<proto::CreateTokensResponse> CreateTokens(const proto::CreateTokensRequest& request) = 0;
  virtual absl::StatusOr<proto::DeviceSummary> ApproveDevice(const std::string& device_id) = 0;
  virtual absl::StatusOr<proto::DeviceSummary> RevokeDevice(const std::string& device_id) = 0;
  // The staged rollout (rollout_command.h).
  virtual absl::StatusOr<proto::RolloutStatus> GetRollout() = 0;
  virtual absl::StatusOr<proto::RolloutStatus> ControlRollout(proto::RolloutControlRequest::Action action) = 0;
};

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_ADMIN_API_H_
