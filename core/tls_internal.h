// File: core/tls_internal.h
//
// OpenSSL helpers shared by the files of the fedge::tls target (tls.cc,
// device_ca.cc). Not a public API: other targets use tls.h and device_ca.h,
// which keep OpenSSL types out of their signatures.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_CORE_TLS_INTERNAL_H_
#define FEDGE_CORE_TLS_INTERNAL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/tls.h"

namespace fedge::tls_internal {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
  void operator()(X509_REVOKED* p) const { X509_REVOKED_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  // ASN1_INTEGER and ASN1_TIME are both ASN1_STRING.
  void operator()(ASN1_STRING* p) const { ASN1_STRING_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }
};
template <typename T>
using OsslPtr = std::unique_ptr<T, OpenSslFree>;

// X.509's upper bound for a commonName (RFC 5280, ub-common-name).
inline constexpr size_t kMaxCommonNameBytes = 64;

// The last OpenSSL error as text (and clears the queue).
std::string OpenSslError();
// kInternal "<what>: <OpenSSL's reason>".
absl::Status Internal(std::string_view what);
// Lower-case hex of `size` bytes.
std::string Hex(const unsigned char* bytes, size_t size);
// The bytes written to a memory BIO.
absl::StatusOr<std::string> BioContents(BIO* bio);
absl::StatusOr<OsslPtr<X509>> ParseCert(const std::string& pem);
absl::StatusOr<OsslPtr<EVP_PKEY>> ParseKey(const std::string& pem);
// A fresh ECDSA P-256 key.
absl::StatusOr<OsslPtr<EVP_PKEY>> NewKey();
// Adds an X.509v3 extension written in OpenSSL's config syntax.
absl::Status AddExtension(X509* issuer, X509* cert, int nid, const char* value);
// 1-64 characters from [A-Za-z0-9._-], not starting with '.'.
bool IsSafeDeviceId(std::string_view id);

// A CA certificate and its key, checked (CheckKeyCertPair, CA:TRUE).
struct LoadedCa {
  OsslPtr<X509> cert;
  OsslPtr<EVP_PKEY> key;
};
absl::StatusOr<LoadedCa> LoadCa(const TlsKeyCertPair& ca);

// An unsigned device (TLS client) certificate for `key` issued by `ca_cert`:
// subject CN `common_name`, random serial, validity from now, CA:FALSE,
// digitalSignature, clientAuth, key ids. The caller signs it with the CA key.
absl::StatusOr<OsslPtr<X509>> NewClientCert(X509* ca_cert, EVP_PKEY* key, std::string_view common_name,
                                            absl::Duration validity);

}  // namespace fedge::tls_internal

#endif  // FEDGE_CORE_TLS_INTERNAL_H_
