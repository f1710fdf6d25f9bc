#include "coordinator/tls.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"

namespace fedge {
namespace {

struct OpenSslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
template <typename T>
using OsslPtr = std::unique_ptr<T, OpenSslFree>;

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

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return absl::InternalError("empty PEM output");
  return std::string(data, static_cast<size_t>(len));
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

absl::Status AddExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  OsslPtr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return Internal(absl::StrCat("adding extension ", value));
  return absl::OkStatus();
}

absl::Status SetIdentity(X509* cert, EVP_PKEY* key, const SelfSignedCertOptions& options) {
  if (X509_set_version(cert, X509_VERSION_3) != 1) return Internal("setting X.509 version");
  OsslPtr<BIGNUM> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Internal("drawing a serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), absl::ToInt64Seconds(options.validity)) == nullptr) {
    return Internal("setting the validity period");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  const auto* cn = reinterpret_cast<const unsigned char*>(options.common_name.c_str());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1) {
    return Internal("setting subject and key");
  }
  return absl::OkStatus();
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

}  // namespace

absl::StatusOr<TlsKeyCertPair> GenerateSelfSignedCert(const SelfSignedCertOptions& options) {
  if (options.validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("certificate validity must be positive");
  }
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<GENERAL_NAMES> sans, SubjectAltNames(options));
  OsslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Internal("generating an ECDSA P-256 key");
  OsslPtr<X509> cert(X509_new());
  if (!cert) return Internal("allocating a certificate");
  FEDGE_RETURN_IF_ERROR(SetIdentity(cert.get(), key.get(), options));
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return Internal("adding subjectAltName");
  }
  FEDGE_RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  FEDGE_RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  FEDGE_RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  FEDGE_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return Internal("signing the certificate");

  OsslPtr<BIO> key_bio(BIO_new(BIO_s_mem()));
  OsslPtr<BIO> cert_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return Internal("writing PEM");
  }
  TlsKeyCertPair pair;
  FEDGE_ASSIGN_OR_RETURN(pair.private_key_pem, BioContents(key_bio.get()));
  FEDGE_ASSIGN_OR_RETURN(pair.cert_chain_pem, BioContents(cert_bio.get()));
  return pair;
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
  FEDGE_RETURN_IF_ERROR(WritePrivateFile((base / "key.pem").string(), pair.private_key_pem));
  return WritePublicFile((base / "cert.pem").string(), pair.cert_chain_pem);
}

absl::StatusOr<DevTlsFiles> EnsureDevTlsPair(const std::string& dir) {
  const std::filesystem::path base(dir);
  DevTlsFiles files{(base / "cert.pem").string(), (base / "key.pem").string(), false};
  const bool have_cert = std::filesystem::exists(files.cert_path);
  const bool have_key = std::filesystem::exists(files.key_path);
  if (have_cert && have_key) return files;
  if (have_cert || have_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " holds only one of cert.pem and key.pem; remove it or supply the other to keep a consistent pair"));
  }
  FEDGE_ASSIGN_OR_RETURN(TlsKeyCertPair pair, GenerateSelfSignedCert());
  FEDGE_RETURN_IF_ERROR(WriteKeyCertPair(pair, dir));
  files.generated = true;
  return files;
}

}  // namespace fedge
