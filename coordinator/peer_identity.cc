#include "coordinator/peer_identity.h"

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/strings.h"
#include "core/tls.h"

namespace fedge {

grpc::Status CheckPeerIs(const grpc::ServerContextBase& context, std::string_view method, std::string_view claimed,
                         std::string_view claim_kind) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  const std::vector<grpc::string_ref> names =
      auth != nullptr ? auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME) : std::vector<grpc::string_ref>();
  std::string message;
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    // Possible only while enrolment lets clients connect without a
    // certificate (grpc_service.h).
    message = absl::StrCat(AsAbsl(method), ": no client certificate; this call needs mutual TLS with a certificate "
                                           "from the device CA (a device without one enrols first: fedge-device "
                                           "enroll)");
  } else if (names.size() != 1) {
    message = absl::StrCat(AsAbsl(method), ": the client certificate must carry exactly one subject common name ",
                           "(CN), found ", names.size());
  } else if (const std::string_view cn(names[0].data(), names[0].size()); cn != claimed) {
    message = absl::StrCat(AsAbsl(method), ": ", AsAbsl(claim_kind), " \"", AsAbsl(claimed),
                           "\" does not match the client certificate's common name \"", AsAbsl(cn),
                           "\"; a client may only act as the identity its certificate names");
  } else {
    return grpc::Status::OK;
  }
  FEDGE_LOG(WARNING) << "denied " << message << " (peer " << context.peer() << ")";
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, message);
}

std::string PeerCertificateSha256(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return "";
  const std::vector<grpc::string_ref> pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.size() != 1) return "";
  absl::StatusOr<std::string> fingerprint = CertSha256Hex(std::string(pems[0].data(), pems[0].size()));
  return fingerprint.ok() ? *std::move(fingerprint) : "";
}

}  // namespace fedge
