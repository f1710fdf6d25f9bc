// File: ctl/admin_client.h
//
// `AdminClient`: the Admin gRPC service of a running fedge-coordinator over
// TLS, with the admin's client certificate for mutual TLS (the coordinator
// answers only the certificate whose CN is its --admin-cn). Every call has a
// deadline; a failed call's status keeps the coordinator's code and message,
// and UNAVAILABLE / DEADLINE_EXCEEDED add what to check.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(auto client, AdminClient::Create({.target = "127.0.0.1:50051",
//       .root_cert_path = "certs/cert.pem", .cert_path = "ops/cert.pem", .key_path = "ops/key.pem"}));
//   FEDGE_ASSIGN_OR_RETURN(proto::DeviceSummary d, client->GetDevice("dev-0"));
//
// Thread-safety: safe for concurrent use (one gRPC channel).
#ifndef FEDGE_CTL_ADMIN_CLIENT_H_
#define FEDGE_CTL_ADMIN_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ctl/admin_api.h"

namespace fedge::ctl {

struct AdminClientOptions {
  // host:port of the coordinator's gRPC listener.
  std::string target = "127.0.0.1:50051";
  // PEM certificate(s) that verify the coordinator's TLS certificate (its
  // CA, or its self-signed dev cert.pem). Empty: the system's roots.
  std::string root_cert_path;
  // The admin client certificate and key (mutual TLS); both or neither.
  std::string cert_path;
  std::string key_path;
  // Expected name in the coordinator's certificate when it differs from the
  // target's host.
  std::string server_name_override;
  // Deadline of each call (a backup of a large state directory takes longer).
  absl::Duration timeout = absl::Seconds(10);
  // Largest answer accepted (device pages are bounded by the server).
  int max_receive_message_bytes = 16 << 20;
};

class AdminClient final : public AdminApi {
 public:
  // kInvalidArgument for bad options or unreadable certificate files (the
  // message names the file and flag); the connection itself is made by the
  // first call.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Create(const AdminClientOptions& options);
  ~AdminClient() override;

  absl::StatusOr<proto::StatusResponse> GetStatus(const proto::StatusRequest& request) override;
  absl::StatusOr<proto::ListDevicesResponse> ListDevices(const proto::ListDevicesRequest& request) override;
  absl::StatusOr<proto::DeviceSummary> GetDevice(const std::string& device_id) override;
  absl::StatusOr<proto::ListModelsResponse> ListModels() override;
  absl::StatusOr<proto::BackupResponse> Backup(const std::string& path) override;
  absl::StatusOr<proto::CreateTokensResponse> CreateTokens(const proto::CreateTokensRequest& request) override;
  absl::StatusOr<proto::DeviceSummary> ApproveDevice(const std::string& device_id) override;
  absl::StatusOr<proto::DeviceSummary> RevokeDevice(const std::string& device_id) override;
  absl::StatusOr<proto::RolloutStatus> GetRollout() override;
  absl::StatusOr<proto::RolloutStatus> ControlRollout(proto::RolloutControlRequest::Action action) override;

 private:
  struct Impl;
  explicit AdminClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_ADMIN_CLIENT_H_
