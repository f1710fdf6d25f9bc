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
#include "coordinator/device_service.h"
#include "coordinator/enrollment_service.h"
#include "coordinator/peer_identity.h"
#include "coordinator/round_report.h"
#include "coordinator/server_credentials.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {
namespace {

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
        // The fleet registry keeps the certificate each device acts with.
        coordinator_service(fed, !options.client_ca_pem.empty(),
                            [fed](const std::string& device_id, const std::string& sha256) {
                              fed->NoteDeviceCertificate(device_id, sha256).IgnoreError();
                            }),
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
  DeviceService coordinator_service;
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

  // With enrolment a client may come without a certificate (to enrol); every
  // RPC but Enroll then checks that the caller has one (CheckPeerIs).
  grpc::ServerBuilder builder;
  builder.AddListeningPort(opts.listen_address,
                           ServerTlsCredentials(opts.tls, opts.client_ca_pem, opts.enrolment != nullptr), &impl->port);
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
