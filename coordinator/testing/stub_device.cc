#include "coordinator/testing/stub_device.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "core/file_util.h"
#include "core/status.h"
#include "core/tls.h"

namespace fedge {

absl::StatusOr<std::unique_ptr<StubDevice>> StubDevice::Create(const StubDeviceOptions& options) {
  grpc::SslCredentialsOptions ssl;
  FEDGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.root_cert_pem_path));
  if (!options.client_cert_pem_path.empty()) {
    FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair,
                           LoadKeyCertPair(options.client_cert_pem_path, options.client_key_pem_path));
    ssl.pem_cert_chain = std::move(pair.cert_chain_pem);
    ssl.pem_private_key = std::move(pair.private_key_pem);
  }
  auto channel = grpc::CreateChannel(options.target, grpc::SslCredentials(ssl));
  return std::unique_ptr<StubDevice>(new StubDevice(proto::Coordinator::NewStub(channel), options.rpc_timeout));
}

StubDevice::StubDevice(std::unique_ptr<proto::Coordinator::Stub> stub, absl::Duration rpc_timeout)
    : stub_(std::move(stub)), rpc_timeout_(rpc_timeout) {}

template <typename Request, typename Response>
absl::StatusOr<Response> StubDevice::Call(grpc::Status (proto::Coordinator::Stub::*method)(grpc::ClientContext*,
                                                                                           const Request&, Response*),
                                          const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(rpc_timeout_));
  calls_.fetch_add(1, std::memory_order_relaxed);
  bytes_sent_.fetch_add(request.ByteSizeLong(), std::memory_order_relaxed);
  Response response;
  const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
  if (!status.ok()) {
    failed_calls_.fetch_add(1, std::memory_order_relaxed);
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  bytes_received_.fetch_add(response.ByteSizeLong(), std::memory_order_relaxed);
  return response;
}

absl::StatusOr<proto::RegisterResponse> StubDevice::Register(const proto::RegisterRequest& request) {
  return Call(&proto::Coordinator::Stub::Register, request);
}
absl::StatusOr<proto::PollTaskResponse> StubDevice::PollTask(const proto::PollTaskRequest& request) {
  return Call(&proto::Coordinator::Stub::PollTask, request);
}
absl::StatusOr<proto::DownloadResponse> StubDevice::Download(const proto::DownloadRequest& request) {
  return Call(&proto::Coordinator::Stub::Download, request);
}
absl::StatusOr<proto::UploadResponse> StubDevice::Upload(const proto::UploadRequest& request) {
  return Call(&proto::Coordinator::Stub::Upload, request);
}
absl::StatusOr<proto::ReportResponse> StubDevice::Report(const proto::DeviceReport& report) {
  return Call(&proto::Coordinator::Stub::Report, report);
}

StubDeviceStats StubDevice::stats() const {
  StubDeviceStats s;
  s.calls = calls_.load(std::memory_order_relaxed);
  s.failed_calls = failed_calls_.load(std::memory_order_relaxed);
  s.bytes_sent = bytes_sent_.load(std::memory_order_relaxed);
  s.bytes_received = bytes_received_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace fedge
