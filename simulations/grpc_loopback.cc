#include "simulations/grpc_loopback.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "client/grpc_transport.h"
#include "coordinator/grpc_service.h"
#include "core/tls.h"
#include "core/status.h"

namespace fedge {

absl::StatusOr<std::unique_ptr<GrpcLoopback>> GrpcLoopback::Start(Federation* federation) {
  std::unique_ptr<GrpcLoopback> loopback(new GrpcLoopback());
  FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair tls, GenerateSelfSignedCert());
  // GrpcTransport reads the trusted certificate from a file.
  std::string dir_template = (std::filesystem::temp_directory_path() / "fedge-sim-tls-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a temporary directory in ", std::filesystem::temp_directory_path().string()));
  }
  loopback->cert_dir_ = dir_template;
  const std::string cert_path = loopback->cert_dir_ + "/cert.pem";
  FEDGE_RETURN_IF_ERROR(WritePublicFile(cert_path, tls.cert_chain_pem));

  CoordinatorServerOptions server_options;
  server_options.listen_address = "127.0.0.1:0";
  server_options.tls = std::move(tls);
  server_options.tick_interval = absl::ZeroDuration();  // the simulator ticks
  FEDGE_ASSIGN_OR_RETURN(loopback->server_, CoordinatorServer::Start(std::move(server_options), federation));

  GrpcTransportOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", loopback->server_->port());
  client_options.root_cert_pem_path = cert_path;
  FEDGE_ASSIGN_OR_RETURN(loopback->transport_, CreateGrpcTransport(client_options));
  return loopback;
}

GrpcLoopback::~GrpcLoopback() {
  transport_.reset();
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  if (!cert_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(cert_dir_, ignored);
  }
}

int GrpcLoopback::port() const { return server_->port(); }

}  // namespace fedge
