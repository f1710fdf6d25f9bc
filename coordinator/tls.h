// File: coordinator/tls.h
//
// TLS key material for the coordinator's gRPC server: loading and checking a
// PEM certificate chain and private key, and generating a self-signed
// development pair (ECDSA P-256 key, X.509 v3 certificate valid for
// 127.0.0.1 and localhost) so a coordinator and devices can be tried on one
// machine without a CA. Production deployments use certificates from their
// own CA; the server only needs the two PEM files.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(DevTlsFiles files, EnsureDevTlsPair("certs"));
//   FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair, LoadKeyCertPair(files.cert_path, files.key_path));
//   // devices trust files.cert_path (GrpcTransportOptions::root_cert_pem_path)
//
// Thread-safety: free functions without shared state; safe to call
// concurrently on different paths.
#ifndef FEDGE_COORDINATOR_TLS_H_
#define FEDGE_COORDINATOR_TLS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedge {

// A private key and the certificate chain that goes with it, both PEM text.
struct TlsKeyCertPair {
  std::string private_key_pem;
  std::string cert_chain_pem;  // leaf first
};

struct SelfSignedCertOptions {
  std::string common_name = "fedge-coordinator (development)";
  // subjectAltName entries; a client checks the name it dialled against them.
  std::vector<std::string> dns_names = {"localhost"};
  std::vector<std::string> ip_addresses = {"127.0.0.1"};
  absl::Duration validity = absl::Hours(24 * 365);
};

// Generates a fresh ECDSA P-256 key and a self-signed X.509 v3 certificate
// for it (SHA-256, random 127-bit serial, subjectAltName from `options`,
// extendedKeyUsage serverAuth). kInvalidArgument for an empty SAN list, a
// malformed IP address or a non-positive validity; kInternal if OpenSSL
// fails.
absl::StatusOr<TlsKeyCertPair> GenerateSelfSignedCert(const SelfSignedCertOptions& options = {});

// Checks that both PEMs parse, that the key belongs to the leaf certificate
// and that the certificate is currently valid. kInvalidArgument naming what
// is wrong; kFailedPrecondition for an expired or not-yet-valid certificate.
absl::Status CheckKeyCertPair(const TlsKeyCertPair& pair);

// Reads and checks a pair (CheckKeyCertPair). kNotFound for a missing file;
// other errors name the offending file.
absl::StatusOr<TlsKeyCertPair> LoadKeyCertPair(const std::string& cert_path, const std::string& key_path);

// Writes `pair` as `<dir>/key.pem` (mode 0600) and `<dir>/cert.pem`
// (mode 0644), creating `dir` if needed; each file is replaced atomically.
absl::Status WriteKeyCertPair(const TlsKeyCertPair& pair, const std::string& dir);

// Writes secret material (a private-key PEM) atomically with mode 0600.
absl::Status WritePrivateFile(const std::string& path, const std::string& contents);
// Writes public material (a certificate or public key) atomically with
// mode 0644.
absl::Status WritePublicFile(const std::string& path, const std::string& contents);

struct DevTlsFiles {
  std::string cert_path;
  std::string key_path;
  bool generated = false;  // false when an existing pair was kept
};

// Makes sure `<dir>/key.pem` and `<dir>/cert.pem` exist: keeps an existing
// pair (so devices that trust it keep working across restarts) and
// otherwise generates a development pair with default options.
// kFailedPrecondition when only one of the two files exists.
absl::StatusOr<DevTlsFiles> EnsureDevTlsPair(const std::string& dir);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_TLS_H_
