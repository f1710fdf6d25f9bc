#include "coordinator/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"
#include "coordinator/admin_service.h"
#include "coordinator/enrollment_service.h"
#include "coordinator/peer_identity.h"
#include "coordinator/round_report.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {
namespace {

// absl and gRPC share the canonical code numbering, so the mapping is a cast.
grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Copies the Federation's answer into the gRPC response slot. Internal
// errors are logged because they mean a coordinator bug, not a device's.
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

// Upload uses gRPC's callback API: the handler hands the request to the
// Federation and returns; the answer is sent when the update is durable
// (Federation::UploadAsync), so a durable coordinator keeps no thread asleep
// per upload in flight, and uploads that arrive together share a write.
class CoordinatorService final : public proto::Coordinator::WithCallbackMethod_Upload<proto::Coordinator::Service> {
 public:
  // `bind_identity`: every call must name the client certificate's CN as
  // its device_id (mutual TLS).
  CoordinatorService(Federation* federation, bool bind_identity)
      : federation_(federation), bind_identity_(bind_identity) {}

  grpc::Status Register(grpc::ServerContext* context, const proto::RegisterRequest* request,
                        proto::RegisterResponse* response) override {
    grpc::Status registered = Serve("Register", context, request->device().device_id(),
                                    [&] { return federation_->Register(*request); }, response);
    if (registered.ok() && bind_identity_) {
      // The fleet registry keeps the certificate each device acts with.
      federation_->NoteDeviceCertificate(request->device().device_id(), PeerCertificateSha256(*context))
          .IgnoreError();
    }
    return registered;
  }
  grpc::Status PollTask(grpc::ServerContext* context, const proto::PollTaskRequest* request,
                        proto::PollTaskResponse* response) override {
    return Serve("PollTask", context, request->device_id(), [&] { return federation_->PollTask(*request); },
                 response);
  }
  grpc::Status Download(grpc::ServerContext* context, const proto::DownloadRequest* request,
                        proto::DownloadResponse* response) override {
    return Serve("Download", context, request->device_id(), [&] { return federation_->Download(*request); },
                 response);
  }
  grpc::ServerUnaryReactor* Upload(grpc::CallbackServerContext* context, const proto::UploadRequest* request,
                                   proto::UploadResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (bind_identity_) {
      if (grpc::Status allowed = CheckPeerIs(*context, "Upload", request->device_id(), "device_id"); !allowed.ok()) {
        reactor->Finish(allowed);
        return reactor;
      }
    }
    // gRPC keeps the context, request and response alive until Finish.
    federation_->UploadAsync(*request, [reactor, context, response](absl::StatusOr<proto::UploadResponse> answer) {
      reactor->Finish(Answer("Upload", context, std::move(answer), response));
    });
    return reactor;
  }
  grpc::Status Report(grpc::ServerContext* context, const proto::DeviceReport* request,
                      proto::ReportResponse* response) override {
    return Serve("Report", context, request->device_id(), [&] { return federation_->Report(*request); }, response);
  }
  grpc::Status SecAgg(grpc::ServerContext* context, const proto::SecAggRequest* request,
                      proto::SecAggResponse* response) override {
    return Serve("SecAgg", context, request->device_id(), [&] { return federation_->SecAgg(*request); }, response);
  }

 private:
  // Checks the caller's identity before the Federation sees the request.
  template <typename Response, typename Call>
  grpc::Status Serve(std::string_view method, grpc::ServerContext* context, std::string_view device_id, Call call,
                     Response* response) {
    if (bind_identity_) {
      grpc::Status allowed = CheckPeerIs(*context, method, device_id, "device_id");
      if (!allowed.ok()) return allowed;
    }
    return Answer(method, context, call(), response);
  }

  Federation* const federation_;
  const bool bind_identity_;
};

// Devices keep polling after the last round while a rollout runs, so that
// it completes or rolls back before the coordinator exits.
bool RolloutInProgress(const Federation& federation) {
  const proto::RolloutState state = federation.GetRollout().state();
  return state == proto::ROLLOUT_RUNNING || state == proto::ROLLOUT_PAUSED;
}

}  // namespace

absl::Status ValidateCoordinatorServerOptions(const CoordinatorServerOptions& options) {
  if (options.listen_address.empty()) {
    return absl::InvalidArgumentError("listen_address is empty; use host:port, e.g. 127.0.0.1:50051");
  }
  if (options.tls.cert_chain_pem.empty() || options.tls.private_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "tls needs a certificate and a private key (--tls-cert/--tls-key, or --generate-dev-tls DIR)");
  }
  if (!options.client_ca_pem.empty() &&
      options.client_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return absl::InvalidArgumentError("client_ca_pem holds no PEM certificate (expected the device CA, e.g. ca.pem)");
  }
  if (!options.admin_common_name.empty() && options.client_ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "admin_common_name needs client_ca_pem: without mutual TLS there is no client certificate to check");
  }
  if (options.enrolment != nullptr && options.client_ca_pem.empty()) {
    return absl::InvalidArgumentError(
        "enrolment needs client_ca_pem (mutual TLS): enrolled devices authenticate with the certificates it issues");
  }
  if (options.max_message_bytes < (64 << 10)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_message_bytes = ", options.max_message_bytes, " is below the 64 KiB minimum"));
  }
  if (options.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("shutdown_grace must not be negative");
  }
  if (options.exit_when_finished && options.tick_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("exit_when_finished needs the driver thread (tick_interval > 0)");
  }
  return absl::OkStatus();
}

struct CoordinatorServer::Impl {
  Impl(CoordinatorServerOptions opts, Federation* fed)
      : options(std::move(opts)),
        federation(fed),
        coordinator_service(fed, !options.client_ca_pem.empty()),
        admin_service(fed, !options.client_ca_pem.empty(), options.admin_common_name, options.state_dir,
                      options.enrolment),
        enrollment_service(options.enrolment) {}

  void DriverLoop();
  void RequestStop() {
    absl::MutexLock lock(&mu);
    stop_requested = true;
  }

  const CoordinatorServerOptions options;
  Federation* const federation;
  // The services must outlive `server`, so they are declared before it.
  CoordinatorService coordinator_service;
  AdminService admin_service;
  EnrollmentService enrollment_service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::thread driver;

  mutable absl::Mutex mu;
  bool stop_requested ABSL_GUARDED_BY(mu) = false;
  // Serialises Shutdown() so concurrent callers wait for the first one.
  absl::Mutex shutdown_mu;
  bool shut_down ABSL_GUARDED_BY(shutdown_mu) = false;
};

void CoordinatorServer::Impl::DriverLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu);
      mu.AwaitWithTimeout(absl::Condition(&stop_requested), options.tick_interval);
      if (stop_requested) return;
    }
    for (const proto::RoundRecord& record : federation->Tick()) {
      FEDGE_LOG(INFO) << FormatRoundRecord(record);
      if (options.on_round) options.on_round(record);
    }
    if (options.exit_when_finished && federation->finished() && !RolloutInProgress(*federation)) {
      FEDGE_LOG(INFO) << "all rounds completed; stopping the coordinator";
      RequestStop();
      return;
    }
  }
}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(CoordinatorServerOptions options,
                                                                           Federation* federation) {
  if (federation == nullptr) return absl::InvalidArgumentError("federation is null");
  FEDGE_RETURN_IF_ERROR(ValidateCoordinatorServerOptions(options));
  auto impl = std::make_unique<Impl>(std::move(options), federation);
  const CoordinatorServerOptions& opts = impl->options;

  // With a client CA the handshake itself rejects clients without a
  // certificate from it, so every call that reaches a service is verified.
  // With enrolment a client may come without one (to enrol); a certificate
  // that is presented is still verified, and every RPC but Enroll checks
  // that the caller has one (CheckPeerIs).
  const grpc_ssl_client_certificate_request_type request_type =
      opts.client_ca_pem.empty()      ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
      : opts.enrolment != nullptr ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  grpc::SslServerCredentialsOptions ssl(request_type);
  ssl.pem_root_certs = opts.client_ca_pem;
  ssl.pem_key_cert_pairs.push_back({opts.tls.private_key_pem, opts.tls.cert_chain_pem});
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts.listen_address, grpc::SslServerCredentials(ssl), &impl->port);
  builder.RegisterService(&impl->coordinator_service);
  builder.RegisterService(&impl->admin_service);
  builder.RegisterService(&impl->enrollment_service);
  builder.SetMaxReceiveMessageSize(opts.max_message_bytes);
  builder.SetMaxSendMessageSize(opts.max_message_bytes);
  // A second coordinator on the same port would silently split the devices
  // between two federations; make the bind fail instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", opts.listen_address,
                                               ": address in use, unknown host, or bad TLS material"));
  }
  if (opts.tick_interval > absl::ZeroDuration()) {
    impl->driver = std::thread([raw = impl.get()] { raw->DriverLoop(); });
  }
  return std::unique_ptr<CoordinatorServer>(new CoordinatorServer(std::move(impl)));
}

CoordinatorServer::CoordinatorServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CoordinatorServer::~CoordinatorServer() { Shutdown(absl::ZeroDuration()); }

int CoordinatorServer::port() const { return impl_->port; }

void CoordinatorServer::RequestStop() { impl_->RequestStop(); }

bool CoordinatorServer::stop_requested() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stop_requested;
}

void CoordinatorServer::Wait() {
  {
    absl::MutexLock lock(&impl_->mu);
    impl_->mu.Await(absl::Condition(&impl_->stop_requested));
  }
  Shutdown(impl_->options.shutdown_grace);
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&impl_->shutdown_mu);
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->RequestStop();
  if (impl_->driver.joinable()) impl_->driver.join();
  const auto deadline = std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace);
  impl_->server->Shutdown(deadline);
  impl_->server->Wait();
}

}  // namespace fedge
