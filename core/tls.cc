#include "core/tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/tls_internal.h"

namespace fedge {
namespace tls_internal {

// The last OpenSSL error as text, so a failure says more than "failed".
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error recorded";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

absl::Status Internal(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", OpenSslError()));
}

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kHex[bytes[i] >> 4]);
    hex.push_back(kHex[bytes[i] & 15]);
  }
  return hex;
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("empty PEM output");
  return std::string(data, static_cast<size_t>(len));
}

absl::Status CheckCertParameters(std::string_view common_name, absl::Duration validity) {
  if (validity <= absl::ZeroDuration()) return absl::InvalidArgumentError("certificate validity must be positive");
  if (common_name.empty() || common_name.size() > kMaxCommonNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a certificate common name needs 1 to ", kMaxCommonNameBytes,
                                                   " bytes, got ", common_name.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<OsslPtr<GENERAL_NAMES>> SubjectAltNames(const SelfSignedCertOptions& options) {
  OsslPtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  if (!names) return Internal("allocating subjectAltName");
  auto add = [&](int type, const std::string& value) -> absl::Status {
    GENERAL_NAME* name = a2i_GENERAL_NAME(nullptr, nullptr, nullptr, type, value.c_str(), 0);
    if (name == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("bad subjectAltName ", type == GEN_IPADD ? "IP" : "DNS",
                                                     " entry '", value, "'"));
    }
    sk_GENERAL_NAME_push(names.get(), name);
    return absl::OkStatus();
  };
  for (const std::string& dns : options.dns_names) FEDGE_RETURN_IF_ERROR(add(GEN_DNS, dns));
  for (const std::string& ip : options.ip_addresses) FEDGE_RETURN_IF_ERROR(add(GEN_IPADD, ip));
  if (sk_GENERAL_NAME_num(names.get()) == 0) {
    return absl::InvalidArgumentError("a certificate needs at least one DNS name or IP address");
  }
  return names;
}

// `issuer` is `cert` itself for a self-signed certificate; extensions such
// as authorityKeyIdentifier read it.
absl::Status AddExtension(X509* issuer, X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  OsslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return Internal(absl::StrCat("adding extension ", value));
  return absl::OkStatus();
}

// A v3 certificate for `key` with subject CN `common_name`, a random 127-bit
// serial and the validity period starting now. The caller sets the issuer
// name and extensions, then signs it (SignAndEncode).
absl::StatusOr<OsslPtr<X509>> NewCert(EVP_PKEY* key, std::string_view common_name, absl::Duration validity) {
  OsslPtr<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return Internal("allocating a certificate");
  OsslPtr<BIGNUM> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Internal("drawing a serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(validity)) == nullptr) {
    return Internal("setting the validity period");
  }
  const std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Internal("setting subject and key");
  }
  return cert;
}

absl::StatusOr<OsslPtr<EVP_PKEY>> NewKey() {
  OsslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Internal("generating an ECDSA P-256 key");
  return key;
}

// Signs `cert` with `signer` (SHA-256) and returns `cert_key` + `cert` as PEM.
absl::StatusOr<TlsKeyCertPair> SignAndEncode(X509* cert, EVP_PKEY* signer, EVP_PKEY* cert_key) {
  if (X509_sign(cert, signer, EVP_sha256()) <= 0) return Internal("signing the certificate");
  OsslPtr<BIO> key_bio(BIO_new(BIO_s_mem()));
  OsslPtr<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio ||
      PEM_write_bio_PrivateKey(key_bio.get(), cert_key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_bio.get(), cert) != 1) {
    return Internal("writing PEM");
  }
  TlsKeyCertPair pair;
  FEDGE_ASSIGN_OR_RETURN(pair.private_key_pem, BioContents(key_bio.get()));
  FEDGE_ASSIGN_OR_RETURN(pair.cert_chain_pem, BioContents(cert_bio.get()));
  return pair;
}

absl::StatusOr<OsslPtr<X509>> ParseCert(const std::string& pem) {
  OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  OsslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return absl::InvalidArgumentError("certificate is not a PEM X.509 certificate");
  }
  return cert;
}

// Every certificate in a PEM bundle, in order; kInvalidArgument when there
// is none or when a BEGIN CERTIFICATE block does not parse.
absl::StatusOr<std::vector<OsslPtr<X509>>> ParseCertBundle(const std::string& pem) {
  OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<OsslPtr<X509>> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) certs.emplace_back(cert);
  ERR_clear_error();  // the read that ends the loop leaves a "no start line" error
  size_t blocks = 0;
  for (size_t pos = pem.find("-----BEGIN CERTIFICATE-----"); pos != std::string::npos;
       pos = pem.find("-----BEGIN CERTIFICATE-----", pos + 1)) {
    ++blocks;
  }
  if (certs.empty()) return absl::InvalidArgumentError("no PEM X.509 certificate in it");
  if (certs.size() != blocks) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate ", certs.size() + 1, " of ", blocks, " is not a valid PEM X.509 certificate"));
  }
  return certs;
}

absl::StatusOr<OsslPtr<EVP_PKEY>> ParseKey(const std::string& pem) {
  OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  OsslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return absl::InvalidArgumentError("private key is not an unencrypted PEM private key");
  }
  return key;
}

absl::Status WriteWithMode(const std::string& path, const std::string& contents, std::filesystem::perms mode) {
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(path, contents));
  // Set explicitly: the mode is part of the contract (a private key must
  // never become readable by others), whatever the writer defaults to.
  std::error_code ec;
  std::filesystem::permissions(path, mode, std::filesystem::perm_options::replace, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(path, ": cannot set its file mode: ", ec.message()));
  return absl::OkStatus();
}

absl::Status WritePair(const TlsKeyCertPair& pair, const DevTlsFiles& files) {
  FEDGE_RETURN_IF_ERROR(WritePrivateFile(files.key_path, pair.private_key_pem));
  return WritePublicFile(files.cert_path, pair.cert_chain_pem);
}

// Keeps an existing `<dir>/<cert_name>` + `<dir>/<key_name>` pair, or writes
// the one `generate()` returns. Refuses a half pair rather than guessing
// which file is stale.
template <typename Generate>
absl::StatusOr<DevTlsFiles> EnsurePair(const std::string& dir, const char* cert_name, const char* key_name,
                                       Generate generate) {
  const std::filesystem::path base(dir);
  DevTlsFiles files{(base / cert_name).string(), (base / key_name).string(), false};
  const bool have_cert = std::filesystem::exists(files.cert_path);
  const bool have_key = std::filesystem::exists(files.key_path);
  if (have_cert && have_key) return files;
  if (have_cert || have_key) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " holds only one of ", cert_name, " and ", key_name,
                                                      "; remove it or supply the other to keep a consistent pair"));
  }
  FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair, generate());
  FEDGE_RETURN_IF_ERROR(WritePair(pair, files));
  files.generated = true;
  return files;
}

bool IsSafeDeviceId(std::string_view id) {
  if (id.empty() || id.size() > kMaxCommonNameBytes || id.front() == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
           ch == '_' || ch == '-';
  });
}

absl::StatusOr<OsslPtr<X509>> NewClientCert(X509* ca_cert, EVP_PKEY* key,
                                             std::string_view common_name, absl::Duration validity) {
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert, NewCert(key, common_name, validity));
  X509* c = cert.get();
  if (X509_set_issuer_name(c, X509_get_subject_name(ca_cert)) != 1) return Internal("setting the issuer");
  FEDGE_RETURN_IF_ERROR(AddExtension(ca_cert, c, NID_basic_constraints, "critical,CA:FALSE"));
  FEDGE_RETURN_IF_ERROR(AddExtension(ca_cert, c, NID_key_usage, "critical,digitalSignature"));
  FEDGE_RETURN_IF_ERROR(AddExtension(ca_cert, c, NID_ext_key_usage, "clientAuth"));
  FEDGE_RETURN_IF_ERROR(AddExtension(ca_cert, c, NID_subject_key_identifier, "hash"));
  FEDGE_RETURN_IF_ERROR(AddExtension(ca_cert, c, NID_authority_key_identifier, "keyid:always"));
  return cert;
}

absl::StatusOr<LoadedCa> LoadCa(const TlsKeyCertPair& ca) {
  const absl::Status ca_ok = CheckKeyCertPair(ca);
  if (!ca_ok.ok()) return absl::Status(ca_ok.code(), absl::StrCat("CA: ", ca_ok.message()));
  LoadedCa loaded;
  FEDGE_ASSIGN_OR_RETURN(loaded.cert, ParseCert(ca.cert_chain_pem));
  FEDGE_ASSIGN_OR_RETURN(loaded.key, ParseKey(ca.private_key_pem));
  if (X509_check_ca(loaded.cert.get()) == 0) {
    return absl::InvalidArgumentError("CA: the certificate is not a CA certificate (basicConstraints CA:TRUE)");
  }
  return loaded;
}

}  // namespace tls_internal

using namespace tls_internal;  // NOLINT: this file's own helpers

absl::StatusOr<TlsKeyCertPair> GenerateSelfSignedCert(const SelfSignedCertOptions& options) {
  FEDGE_RETURN_IF_ERROR(CheckCertParameters(options.common_name, options.validity));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<GENERAL_NAMES> sans, SubjectAltNames(options));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, NewKey());
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert, NewCert(key.get(), options.common_name, options.validity));
  X509* c = cert.get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) return Internal("setting the issuer");
  if (X509_add1_ext_i2d(c, NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Internal("adding subjectAltName");
  }
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_basic_constraints, "critical,CA:FALSE"));
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_key_usage, "critical,digitalSignature"));
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_ext_key_usage, "serverAuth"));
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_subject_key_identifier, "hash"));
  return SignAndEncode(c, key.get(), key.get());
}

absl::StatusOr<TlsKeyCertPair> GenerateDevCa(std::string_view common_name, absl::Duration validity) {
  FEDGE_RETURN_IF_ERROR(CheckCertParameters(common_name, validity));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, NewKey());
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert, NewCert(key.get(), common_name, validity));
  X509* c = cert.get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) return Internal("setting the issuer");
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  FEDGE_RETURN_IF_ERROR(AddExtension(c, c, NID_subject_key_identifier, "hash"));
  return SignAndEncode(c, key.get(), key.get());
}

absl::StatusOr<TlsKeyCertPair> IssueClientCert(const TlsKeyCertPair& ca, std::string_view common_name,
                                               absl::Duration validity) {
  FEDGE_RETURN_IF_ERROR(CheckCertParameters(common_name, validity));
  FEDGE_ASSIGN_OR_RETURN(LoadedCa loaded, LoadCa(ca));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, NewKey());
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert,
                         NewClientCert(loaded.cert.get(), key.get(), common_name, validity));
  return SignAndEncode(cert.get(), loaded.key.get(), key.get());
}

absl::Status VerifyClientCert(const std::string& cert_pem, const std::string& ca_pem) {
  FEDGE_ASSIGN_OR_RETURN(std::vector<OsslPtr<X509>> chain, ParseCertBundle(cert_pem));
  absl::StatusOr<std::vector<OsslPtr<X509>>> cas = ParseCertBundle(ca_pem);
  if (!cas.ok()) return absl::InvalidArgumentError(absl::StrCat("CA bundle: ", cas.status().message()));
  OsslPtr<X509_STORE> store(X509_STORE_new());
  OsslPtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  OsslPtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return Internal("allocating a verification context");
  for (const OsslPtr<X509>& ca : *cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) return Internal("adding a CA certificate");
  }
  // Intermediates the client sent after its leaf may complete the chain.
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    return Internal("initialising certificate verification");
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat("the certificate does not verify as a TLS client: ", X509_verify_cert_error_string(error)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CertCommonName(const std::string& cert_pem) {
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert, ParseCert(cert_pem));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return absl::NotFoundError("the certificate's subject has no common name (CN)");
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (len < 0) return Internal("decoding the common name");
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return name;
}

absl::StatusOr<std::string> CertSha256Hex(const std::string& cert_pem) {
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert, ParseCert(cert_pem));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &length) != 1) return Internal("hashing the certificate");
  return Hex(digest, length);
}

absl::Status CheckKeyCertPair(const TlsKeyCertPair& pair) {
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert, ParseCert(pair.cert_chain_pem));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, ParseKey(pair.private_key_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the private key does not belong to the (first) certificate");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
    return absl::FailedPreconditionError("the certificate is not valid yet (check the system clock)");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0) {
    return absl::FailedPreconditionError("the certificate has expired; issue a new one");
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsKeyCertPair> LoadKeyCertPair(const std::string& cert_path, const std::string& key_path) {
  TlsKeyCertPair pair;
  FEDGE_ASSIGN_OR_RETURN(pair.cert_chain_pem, ReadFile(cert_path));
  FEDGE_ASSIGN_OR_RETURN(pair.private_key_pem, ReadFile(key_path));
  const absl::Status status = CheckKeyCertPair(pair);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("TLS pair (cert ", cert_path, ", key ", key_path, "): ", status.message()));
  }
  return pair;
}

absl::StatusOr<std::string> LoadCaCerts(const std::string& path) {
  FEDGE_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  const absl::StatusOr<std::vector<OsslPtr<X509>>> certs = ParseCertBundle(pem);
  if (!certs.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", certs.status().message()));
  return pem;
}

absl::Status WritePrivateFile(const std::string& path, const std::string& contents) {
  using std::filesystem::perms;
  return WriteWithMode(path, contents, perms::owner_read | perms::owner_write);
}

absl::Status WritePublicFile(const std::string& path, const std::string& contents) {
  using std::filesystem::perms;
  return WriteWithMode(path, contents, perms::owner_read | perms::owner_write | perms::group_read | perms::others_read);
}

absl::Status WriteKeyCertPair(const TlsKeyCertPair& pair, const std::string& dir) {
  const std::filesystem::path base(dir);
  return WritePair(pair, DevTlsFiles{(base / "cert.pem").string(), (base / "key.pem").string(), false});
}

absl::StatusOr<DevTlsFiles> EnsureDevTlsPair(const std::string& dir) {
  return EnsurePair(dir, "cert.pem", "key.pem", [] { return GenerateSelfSignedCert(); });
}

absl::StatusOr<DevTlsFiles> EnsureDevCa(const std::string& dir) {
  return EnsurePair(dir, "ca.pem", "ca-key.pem", [] { return GenerateDevCa(); });
}

absl::StatusOr<DevTlsFiles> IssueDevDeviceCert(const std::string& ca_dir, const std::string& device_id,
                                               const std::string& out_dir) {
  if (!IsSafeDeviceId(device_id)) {
    return absl::InvalidArgumentError(absl::StrCat("device id '", device_id,
                                                   "' cannot name a certificate: use 1-64 characters from "
                                                   "[A-Za-z0-9._-], not starting with '.'"));
  }
  FEDGE_ASSIGN_OR_RETURN(DevTlsFiles ca_files, EnsureDevCa(ca_dir));
  FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair ca, LoadKeyCertPair(ca_files.cert_path, ca_files.key_path));
  FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair, IssueClientCert(ca, device_id));
  const std::filesystem::path dir = std::filesystem::path(out_dir) / device_id;
  DevTlsFiles files{(dir / "cert.pem").string(), (dir / "key.pem").string(), true};
  FEDGE_RETURN_IF_ERROR(WritePair(pair, files));
  return files;
}

}  // namespace fedge
