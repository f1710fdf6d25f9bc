// File: core/device_ca.h
//
// Enrolment's certificate work (target fedge::tls), both sides of it:
//   - the device makes its own ECDSA P-256 key and a PKCS#10 certificate
//     signing request (CSR) whose only subject entry is CN=<device id>, so
//     its private key never leaves it;
//   - the coordinator checks such a CSR, which comes from the network and
//     is untrusted, signs it with the device CA's key into a TLS client
//     certificate, and writes the CA's certificate revocation list (CRL).
//
// Usage (coordinator):
//   FEDGE_ASSIGN_OR_RETURN(CheckedCsr csr, CheckCsr(request.csr_pem(), request.device_id()));
//   FEDGE_ASSIGN_OR_RETURN(IssuedCert cert, SignCsr(ca, request.csr_pem(), request.device_id()));
//   FEDGE_ASSIGN_OR_RETURN(std::string crl, MakeCrl(ca, {{cert.serial_hex, now}}, now));
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_CORE_DEVICE_CA_H_
#define FEDGE_CORE_DEVICE_CA_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/tls.h"

namespace fedge {

// Largest CSR accepted (a P-256 CSR with a 64-byte CN is about 500 bytes).
inline constexpr size_t kMaxCsrBytes = 8 << 10;

// OK when `id` may be a device id that names a certificate and a
// directory: 1-64 characters from [A-Za-z0-9._-], not starting with '.'.
// kInvalidArgument saying so otherwise.
absl::Status CheckDeviceId(std::string_view id);

// --- Device side -------------------------------------------------------

// A fresh ECDSA P-256 private key, PEM (PKCS#8, unencrypted: store it 0600).
absl::StatusOr<std::string> GenerateDeviceKey();

// A CSR (PEM) for the key in `key_pem`, subject CN=`device_id`, signed with
// that key (SHA-256). kInvalidArgument for a bad key or device id.
absl::StatusOr<std::string> MakeCsr(const std::string& key_pem, std::string_view device_id);

// --- Coordinator side --------------------------------------------------

struct CheckedCsr {
  // Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo: the same key
  // asking again (a pending device polling) has the same one.
  std::string public_key_sha256;
};

// Checks an untrusted CSR once: at most kMaxCsrBytes of PEM, one PKCS#10
// request, self-signature valid, key ECDSA P-256, subject exactly one entry
// CN equal to `device_id`, which passes CheckDeviceId. kInvalidArgument
// naming what is wrong; never crashes on any input.
absl::StatusOr<CheckedCsr> CheckCsr(std::string_view csr_pem, std::string_view device_id);

struct IssuedCert {
  std::string certificate_pem;
  std::string serial_hex;  // upper-case hex, as `openssl crl -text` prints it
};

// Checks `csr_pem` (CheckCsr) and signs a client certificate for its key
// (CA:FALSE, digitalSignature, clientAuth, random 127-bit serial, subject
// CN=`device_id`; nothing else of the CSR is copied) with `ca` (a CA
// certificate and its key). Errors: those of CheckCsr; kInvalidArgument or
// kFailedPrecondition for an unusable CA; kInternal if OpenSSL fails.
absl::StatusOr<IssuedCert> SignCsr(const TlsKeyCertPair& ca, std::string_view csr_pem, std::string_view device_id,
                                   absl::Duration validity = absl::Hours(24 * 365));

struct RevokedCert {
  std::string serial_hex;
  absl::Time revoked_at;
};

// A v2 CRL (PEM) issued and signed by `ca` listing `revoked`, with a CRL
// number (`now` in seconds, so it grows), lastUpdate `now` and nextUpdate
// `now + next_update`. kInvalidArgument for a serial that is not hex.
absl::StatusOr<std::string> MakeCrl(const TlsKeyCertPair& ca, const std::vector<RevokedCert>& revoked, absl::Time now,
                                    absl::Duration next_update = absl::Hours(24 * 30));

}  // namespace fedge

#endif  // FEDGE_CORE_DEVICE_CA_H_
