#include "client/grpc_transport.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/tls.h"
#include "core/file_util.h"
#include "core/status.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {
namespace {

// gRPC and absl share the canonical code numbering, so the mapping is a cast.
absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace

struct GrpcTransport::Impl {
  GrpcTransportOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<proto::Coordinator::Stub> stub;

  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> failed_calls{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> bytes_received{0};

  // gRPC advances a connection attempt only while something polls for it,
  // and a call on a channel that is not connected fails at once without
  // polling. After an outage only gRPC's backup poller (every 5 s) drove
  // the TCP connect, the TLS handshake and the HTTP/2 settings, so a device
  // took 15 s to reach a coordinator that was back (found by
  // device_partition_test). Waiting briefly for the connection drives it.
  void AwaitConnection() {
    if (options.connect_wait <= absl::ZeroDuration()) return;
    if (channel->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY) return;
    channel->WaitForConnected(std::chrono::system_clock::now() +
                              absl::ToChronoMilliseconds(std::min(options.connect_wait, options.rpc_timeout)));
  }

  // One blocking call with its own deadline. `method` is a pointer to the
  // Stub's synchronous method for this RPC.
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (proto::Coordinator::Stub::*method)(grpc::ClientContext*,
                                                                                 const Request&, Response*),
                                const Request& request) {
    AwaitConnection();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.rpc_timeout));
    calls.fetch_add(1, std::memory_order_relaxed);
    Response response;
    const grpc::Status status = (stub.get()->*method)(&context, request, &response);
    if (!status.ok()) {
      // Not counted as sent: a call that fails may never have left the
      // device (no connection), and during an outage they are most calls.
      failed_calls.fetch_add(1, std::memory_order_relaxed);
      return FromGrpcStatus(status);
    }
    bytes_sent.fetch_add(request.ByteSizeLong(), std::memory_order_relaxed);
    bytes_received.fetch_add(response.ByteSizeLong(), std::memory_order_relaxed);
    return response;
  }
};

absl::StatusOr<std::unique_ptr<GrpcTransport>> GrpcTransport::Create(const GrpcTransportOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("GrpcTransportOptions.target is empty; use host:port of the coordinator");
  }
  if (options.rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("GrpcTransportOptions.rpc_timeout must be positive");
  }
  if (options.connect_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("GrpcTransportOptions.connect_wait must be >= 0");
  }
  if (options.max_reconnect_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("GrpcTransportOptions.max_reconnect_backoff must be positive");
  }
  if (options.max_receive_message_bytes < (64 << 10)) {
    return absl::InvalidArgumentError("GrpcTransportOptions.max_receive_message_bytes is below 64 KiB");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.root_cert_pem_path.empty()) {
    FEDGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.root_cert_pem_path));
    if (ssl.pem_root_certs.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.root_cert_pem_path, ": no PEM certificate in it (expected the coordinator's cert.pem)"));
    }
  }
  if (options.client_cert_pem_path.empty() != options.client_key_pem_path.empty()) {
    return absl::InvalidArgumentError(
        "GrpcTransportOptions: give both client_cert_pem_path and client_key_pem_path (--tls-cert/--tls-key), or "
        "neither");
  }
  if (!options.client_cert_pem_path.empty()) {
    FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair,
                           LoadKeyCertPair(options.client_cert_pem_path, options.client_key_pem_path));
    ssl.pem_cert_chain = std::move(pair.cert_chain_pem);
    ssl.pem_private_key = std::move(pair.private_key_pem);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  const int backoff_ms = static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(options.max_reconnect_backoff), 3'600'000));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, backoff_ms);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(backoff_ms, 1000));
  if (!options.ssl_target_name_override.empty()) args.SetSslTargetNameOverride(options.ssl_target_name_override);

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->channel = grpc::CreateCustomChannel(options.target, grpc::SslCredentials(ssl), args);
  impl->stub = proto::Coordinator::NewStub(impl->channel);
  return std::unique_ptr<GrpcTransport>(new GrpcTransport(std::move(impl)));
}

GrpcTransport::GrpcTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcTransport::~GrpcTransport() = default;

absl::StatusOr<proto::RegisterResponse> GrpcTransport::Register(const proto::RegisterRequest& request) {
  return impl_->Call(&proto::Coordinator::Stub::Register, request);
}
absl::StatusOr<proto::PollTaskResponse> GrpcTransport::PollTask(const proto::PollTaskRequest& request) {
  return impl_->Call(&proto::Coordinator::Stub::PollTask, request);
}
absl::StatusOr<proto::DownloadResponse> GrpcTransport::Download(const proto::DownloadRequest& request) {
  return impl_->Call(&proto::Coordinator::Stub::Download, request);
}
absl::StatusOr<proto::UploadResponse> GrpcTransport::Upload(const proto::UploadRequest& request) {
  return impl_->Call(&proto::Coordinator::Stub::Upload, request);
}
absl::StatusOr<proto::ReportResponse> GrpcTransport::Report(const proto::DeviceReport& report) {
  return impl_->Call(&proto::Coordinator::Stub::Report, report);
}

absl::StatusOr<proto::SecAggResponse> GrpcTransport::SecAgg(const proto::SecAggRequest& request) {
  return impl_->Call(&proto::Coordinator::Stub::SecAgg, request);
}

TransportStats GrpcTransport::stats() const {
  TransportStats s;
  s.calls = impl_->calls.load(std::memory_order_relaxed);
  s.failed_calls = impl_->failed_calls.load(std::memory_order_relaxed);
  s.bytes_sent = impl_->bytes_sent.load(std::memory_order_relaxed);
  s.bytes_received = impl_->bytes_received.load(std::memory_order_relaxed);
  return s;
}

absl::StatusOr<std::unique_ptr<Transport>> CreateGrpcTransport(const GrpcTransportOptions& options) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<GrpcTransport> transport, GrpcTransport::Create(options));
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace fedge
