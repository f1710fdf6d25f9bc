// File: coordinator/server_credentials.h
//
// The TLS credentials of fedge's gRPC servers (the coordinator and the
// gateway): TLS 1.3 with the server's pair, and mutual TLS when a client CA
// is given.
//
// Thread-safety: a free function without shared state.
#ifndef FEDGE_COORDINATOR_SERVER_CREDENTIALS_H_
#define FEDGE_COORDINATOR_SERVER_CREDENTIALS_H_

#include <memory>
#include <string>

#include <grpcpp/security/server_credentials.h>

#include "core/tls.h"

namespace fedge {

// With an empty `client_ca_pem`, any TLS client connects. Otherwise the
// handshake verifies a presented client certificate against that CA and,
// unless `allow_without_certificate` (enrolment: a device without one yet),
// requires one, so every call that reaches a service is from a verified
// client (CheckPeerIs then binds it to its device id).
std::shared_ptr<grpc::ServerCredentials> ServerTlsCredentials(const TlsKeyCertPair& tls,
                                                              const std::string& client_ca_pem,
                                                              bool allow_without_certificate);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_SERVER_CREDENTIALS_H_
