#include "ctl/admin_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/tls.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge::ctl {

struct AdminClient::Impl {
  AdminClientOptions options;
  std::unique_ptr<proto::Admin::Stub> stub;

  // Runs one call with the deadline and turns its status into an absl one.
  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(std::string_view name, Method method, const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.timeout));
    Response response;
    const grpc::Status status = (stub.get()->*method)(&context, request, &response);
    if (status.ok()) return response;
    const auto code = static_cast<absl::StatusCode>(status.error_code());
    std::string message = status.error_message();
    if (code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded) {
      absl::StrAppend(&message, " (Admin.", AsAbsl(name), " to ", options.target,
                      ": check --coordinator, that fedge-coordinator runs there, that --root-cert verifies its "
                      "certificate, and that --tls-cert/--tls-key were issued by its --client-ca)");
    } else if (code == absl::StatusCode::kUnimplemented) {
      absl::StrAppend(&message, " (the coordinator at ", options.target, " has no Admin.", AsAbsl(name),
                      ": it is older than this fedgectl)");
    }
    return absl::Status(code, message);
  }
};

namespace {

// A file the operator named that cannot be used is a usage error.
absl::Status BadFile(const absl::Status& status, std::string_view flag) {
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(flag), ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(const AdminClientOptions& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("--coordinator is empty; give host:port");
  if (options.timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("--timeout-s must be positive");
  grpc::SslCredentialsOptions ssl;
  if (!options.root_cert_path.empty()) {
    absl::StatusOr<std::string> roots = ReadFile(options.root_cert_path);
    if (!roots.ok()) return BadFile(roots.status(), "--root-cert");
    if (roots->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--root-cert ", options.root_cert_path, ": no PEM certificate in it (expected the coordinator's CA or its "
          "cert.pem)"));
    }
    ssl.pem_root_certs = *std::move(roots);
  }
  if (options.cert_path.empty() != options.key_path.empty()) {
    return absl::InvalidArgumentError("give both --tls-cert and --tls-key (the admin certificate), or neither");
  }
  if (!options.cert_path.empty()) {
    absl::StatusOr<TlsKeyCertPair> pair = LoadKeyCertPair(options.cert_path, options.key_path);
    if (!pair.ok()) return BadFile(pair.status(), "--tls-cert/--tls-key");
    ssl.pem_cert_chain = std::move(pair->cert_chain_pem);
    ssl.pem_private_key = std::move(pair->private_key_pem);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (!options.server_name_override.empty()) args.SetSslTargetNameOverride(options.server_name_override);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->stub = proto::Admin::NewStub(grpc::CreateCustomChannel(options.target, grpc::SslCredentials(ssl), args));
  return std::unique_ptr<AdminClient>(new AdminClient(std::move(impl)));
}

AdminClient::AdminClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AdminClient::~AdminClient() = default;

absl::StatusOr<proto::StatusResponse> AdminClient::GetStatus(const proto::StatusRequest& request) {
  return impl_->Call<proto::StatusRequest, proto::StatusResponse>("GetStatus", &proto::Admin::Stub::GetStatus,
                                                                  request);
}

absl::StatusOr<proto::ListDevicesResponse> AdminClient::ListDevices(const proto::ListDevicesRequest& request) {
  return impl_->Call<proto::ListDevicesRequest, proto::ListDevicesResponse>(
      "ListDevices", &proto::Admin::Stub::ListDevices, request);
}

absl::StatusOr<proto::DeviceSummary> AdminClient::GetDevice(const std::string& device_id) {
  proto::GetDeviceRequest request;
  request.set_device_id(device_id);
  return impl_->Call<proto::GetDeviceRequest, proto::DeviceSummary>("GetDevice", &proto::Admin::Stub::GetDevice,
                                                                    request);
}

absl::StatusOr<proto::ListModelsResponse> AdminClient::ListModels() {
  return impl_->Call<proto::ListModelsRequest, proto::ListModelsResponse>(
      "ListModels", &proto::Admin::Stub::ListModels, proto::ListModelsRequest());
}

absl::StatusOr<proto::BackupResponse> AdminClient::Backup(const std::string& path) {
  proto::BackupRequest request;
  request.set_path(path);
  return impl_->Call<proto::BackupRequest, proto::BackupResponse>("Backup", &proto::Admin::Stub::Backup, request);
}

absl::StatusOr<proto::CreateTokensResponse> AdminClient::CreateTokens(const proto::CreateTokensRequest& request) {
  return impl_->Call<proto::CreateTokensRequest, proto::CreateTokensResponse>(
      "CreateTokens", &proto::Admin::Stub::CreateTokens, request);
}

absl::StatusOr<proto::DeviceSummary> AdminClient::ApproveDevice(const std::string& device_id) {
  proto::DeviceActionRequest request;
  request.set_device_id(device_id);
  return impl_->Call<proto::DeviceActionRequest, proto::DeviceSummary>(
      "ApproveDevice", &proto::Admin::Stub::ApproveDevice, request);
}

absl::StatusOr<proto::DeviceSummary> AdminClient::RevokeDevice(const std::string& device_id) {
  proto::DeviceActionRequest request;
  request.set_device_id(device_id);
  return impl_->Call<proto::DeviceActionRequest, proto::DeviceSummary>("RevokeDevice",
                                                                       &proto::Admin::Stub::RevokeDevice, request);
}

absl::StatusOr<proto::RolloutStatus> AdminClient::GetRollout() {
  return impl_->Call<proto::RolloutRequest, proto::RolloutStatus>("GetRollout", &proto::Admin::Stub::GetRollout,
                                                                  proto::RolloutRequest());
}

absl::StatusOr<proto::RolloutStatus> AdminClient::ControlRollout(proto::RolloutControlRequest::Action action) {
  proto::RolloutControlRequest request;
  request.set_action(action);
  return impl_->Call<proto::RolloutControlRequest, proto::RolloutStatus>(
      "ControlRollout", &proto::Admin::Stub::ControlRollout, request);
}

}  // namespace fedge::ctl
