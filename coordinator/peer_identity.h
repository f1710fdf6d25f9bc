// File: coordinator/peer_identity.h
//
// Who is calling, under mutual TLS: the gRPC adapter's one identity rule
// (a client certificate, already verified against the device CA by the
// handshake, names its holder in its subject common name, and a call may
// act only for that name) and the fingerprint of that certificate for the
// fleet registry.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_COORDINATOR_PEER_IDENTITY_H_
#define FEDGE_COORDINATOR_PEER_IDENTITY_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

namespace fedge {

// OK when the peer presented a verified client certificate with exactly
// one CN equal to `claimed`; otherwise PERMISSION_DENIED naming `method`
// (a peer without a certificate is told so), the claim (what
// `claim_kind` calls it) and the CN, logged as a warning (a misconfigured or
// impersonating client).
grpc::Status CheckPeerIs(const grpc::ServerContextBase& context, std::string_view method, std::string_view claimed,
                         std::string_view claim_kind);

// Hex SHA-256 of the peer's client certificate (core/tls.h CertSha256Hex);
// empty without one (no mutual TLS).
std::string PeerCertificateSha256(const grpc::ServerContextBase& context);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_PEER_IDENTITY_H_
