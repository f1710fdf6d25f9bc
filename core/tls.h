// File: core/tls.h
//
// TLS key material for fedge's gRPC connections (target fedge::tls: core +
// OpenSSL, no LibTorch, linked by both the coordinator and the device
// transport):
//   - loading and checking a PEM certificate chain and private key (the
//     coordinator's server pair, a device's client pair);
//   - a self-signed development server pair (ECDSA P-256 key, X.509 v3
//     certificate valid for 127.0.0.1 and localhost) so a coordinator and
//     devices can be tried on one machine without a CA;
//   - for mutual TLS: a development device CA and device (client)
//     certificates issued by it, whose subject common name is the device id
//     the coordinator binds the connection to (coordinator/grpc_service.h).
// Production deployments use certificates from their own CAs; the server
// only needs the PEM files.
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(DevTlsFiles files, EnsureDevTlsPair("certs"));
//   FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair, LoadKeyCertPair(files.cert_path, files.key_path));
//   // devices trust files.cert_path (GrpcTransportOptions::root_cert_pem_path)
//   FEDGE_ASSIGN_OR_RETURN(DevTlsFiles dev1, IssueDevDeviceCert("certs", "dev-1", "certs/devices"));
//   // the coordinator verifies clients against certs/ca.pem (client_ca);
//   // device dev-1 presents dev1.cert_path / dev1.key_path
//
// Thread-safety: free functions without shared state; safe to call
// concurrently on different paths.
#ifndef FEDGE_CORE_TLS_H_
#define FEDGE_CORE_TLS_H_

#include <string>
#include <string_view>
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
// malformed IP address, an empty or over-long (> 64 bytes) common name or a
// non-positive validity; kInternal if OpenSSL fails.
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

// --- Mutual TLS: a device CA and device certificates ----------------------

// Generates a fresh ECDSA P-256 key and a self-signed CA certificate for it
// (basicConstraints CA:TRUE with pathlen 0, keyUsage keyCertSign + cRLSign).
// kInvalidArgument for an empty or over-long (> 64 bytes) common name or a
// non-positive validity; kInternal if OpenSSL fails.
absl::StatusOr<TlsKeyCertPair> GenerateDevCa(std::string_view common_name = "fedge device CA (development)",
                                             absl::Duration validity = absl::Hours(24 * 365 * 10));

// Issues a client certificate with subject CN `common_name` (a device id) for
// a fresh ECDSA P-256 key, signed by `ca` (leaf-only chain, its key must
// match, see CheckKeyCertPair): extendedKeyUsage clientAuth, keyUsage
// digitalSignature, CA:FALSE, authority key id of the CA. The returned
// chain is the device certificate alone. kInvalidArgument for a bad CA pair,
// an empty or over-long (> 64 bytes) common name or a non-positive validity;
// kFailedPrecondition for an expired CA; kInternal if OpenSSL fails.
absl::StatusOr<TlsKeyCertPair> IssueClientCert(const TlsKeyCertPair& ca, std::string_view common_name,
                                               absl::Duration validity = absl::Hours(24 * 365));

// Verifies that the (first) certificate in `cert_pem` chains to a
// certificate in `ca_pem`, is currently valid and may authenticate a TLS
// client (extendedKeyUsage clientAuth if it has one) — what the coordinator's
// TLS stack checks during a mutual-TLS handshake. kInvalidArgument for
// unparsable PEM; kPermissionDenied with OpenSSL's reason when verification
// fails.
absl::Status VerifyClientCert(const std::string& cert_pem, const std::string& ca_pem);

// The subject common name of the (first) certificate in `cert_pem`.
// kInvalidArgument for unparsable PEM; kNotFound when it has no CN.
absl::StatusOr<std::string> CertCommonName(const std::string& cert_pem);

// The SHA-256 fingerprint of the (first) certificate in `cert_pem`: lower-case
// hex of the digest of its DER encoding (what `openssl x509 -noout
// -fingerprint -sha256` prints, without colons). kInvalidArgument for
// unparsable PEM.
absl::StatusOr<std::string> CertSha256Hex(const std::string& cert_pem);

// Reads a PEM bundle of trusted CA certificates (e.g. server.client_ca) and
// checks that every certificate in it parses. kNotFound for a missing file;
// kInvalidArgument naming the file when it holds no certificate or a broken
// one.
absl::StatusOr<std::string> LoadCaCerts(const std::string& path);

// Makes sure the development device CA `<dir>/ca.pem` + `<dir>/ca-key.pem`
// (mode 0600) exists: keeps an existing one (so issued certificates stay
// valid) and otherwise generates one with GenerateDevCa().
// kFailedPrecondition when only one of the two files exists.
absl::StatusOr<DevTlsFiles> EnsureDevCa(const std::string& dir);

// Issues a certificate for device `device_id` from the development CA in
// `ca_dir` (created by EnsureDevCa if missing) and writes it as
// `<out_dir>/<device_id>/cert.pem` and `key.pem` (mode 0600), replacing an
// earlier pair. `device_id` becomes a directory name, so it is restricted
// to 1-64 characters from [A-Za-z0-9._-], not starting with '.':
// kInvalidArgument otherwise.
absl::StatusOr<DevTlsFiles> IssueDevDeviceCert(const std::string& ca_dir, const std::string& device_id,
                                               const std::string& out_dir);

}  // namespace fedge

#endif  // FEDGE_CORE_TLS_H_
