#include "core/device_ca.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/tls_internal.h"

namespace fedge {

using namespace tls_internal;  // NOLINT: the target's own helpers

namespace {

absl::Status BadCsr(std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("certificate signing request: ", std::string(why)));
}

absl::StatusOr<OsslPtr<X509_REQ>> ParseCsr(std::string_view pem) {
  if (pem.empty()) return BadCsr("empty; send a PEM PKCS#10 request (BEGIN CERTIFICATE REQUEST)");
  if (pem.size() > kMaxCsrBytes) {
    return BadCsr(absl::StrCat(pem.size(), " bytes, above the ", kMaxCsrBytes, "-byte limit"));
  }
  OsslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Internal("allocating a BIO");
  OsslPtr<X509_REQ> req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return BadCsr("not a PEM PKCS#10 request (BEGIN CERTIFICATE REQUEST)");
  }
  return req;
}

absl::Status CheckCsrKey(EVP_PKEY* key) {
  if (key == nullptr) return BadCsr("it carries no usable public key");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return BadCsr("the key must be ECDSA P-256 (it is not an EC key)");
  char group[64] = {0};
  size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1 ||
      std::strcmp(group, "prime256v1") != 0) {
    ERR_clear_error();
    return BadCsr(absl::StrCat("the key must be ECDSA P-256, not curve '", group, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckCsrSubject(X509_REQ* req, std::string_view device_id) {
  X509_NAME* subject = X509_REQ_get_subject_name(req);
  if (subject == nullptr || X509_NAME_entry_count(subject) != 1) {
    return BadCsr("the subject must hold exactly one entry, CN=<device id>");
  }
  X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, 0);
  if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry)) != NID_commonName) {
    return BadCsr("the subject's only entry must be the common name (CN)");
  }
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
  if (len < 0) {
    ERR_clear_error();
    return BadCsr("the common name is not valid text");
  }
  const std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  if (cn != device_id) {
    return BadCsr(absl::StrCat("its common name \"", cn.substr(0, kMaxCommonNameBytes),
                               "\" differs from the device id \"", std::string(device_id), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PublicKeySha256(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return Internal("encoding the public key");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const int ok = EVP_Digest(der, static_cast<size_t>(len), digest, &digest_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) return Internal("hashing the public key");
  return Hex(digest, digest_len);
}

// Parses and checks; the request is returned for SignCsr.
absl::StatusOr<OsslPtr<X509_REQ>> ParseCheckedCsr(std::string_view csr_pem, std::string_view device_id) {
  FEDGE_RETURN_IF_ERROR(CheckDeviceId(device_id));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509_REQ> req, ParseCsr(csr_pem));
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  FEDGE_RETURN_IF_ERROR(CheckCsrKey(key));
  if (X509_REQ_verify(req.get(), key) != 1) {
    ERR_clear_error();
    return BadCsr("its signature does not verify with its own key");
  }
  FEDGE_RETURN_IF_ERROR(CheckCsrSubject(req.get(), device_id));
  return req;
}

absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial) {
  OsslPtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return Internal("reading the serial number");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return Internal("printing the serial number");
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

absl::Status AddRevoked(X509_CRL* crl, const RevokedCert& r) {
  BIGNUM* raw = nullptr;
  if (r.serial_hex.empty() || BN_hex2bn(&raw, r.serial_hex.c_str()) != static_cast<int>(r.serial_hex.size())) {
    BN_free(raw);
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("revoked serial '", r.serial_hex, "' is not hex"));
  }
  OsslPtr<BIGNUM> bn(raw);
  OsslPtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  OsslPtr<ASN1_TIME> when(ASN1_TIME_set(nullptr, absl::ToTimeT(r.revoked_at)));
  OsslPtr<X509_REVOKED> entry(X509_REVOKED_new());
  if (!serial || !when || !entry || X509_REVOKED_set_serialNumber(entry.get(), serial.get()) != 1 ||
      X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1 || X509_CRL_add0_revoked(crl, entry.get()) != 1) {
    return Internal("adding a revoked certificate");
  }
  entry.release();  // owned by the CRL now
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckDeviceId(std::string_view id) {
  if (IsSafeDeviceId(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("device id \"", std::string(id.substr(0, kMaxCommonNameBytes)),
                                                 "\" is not allowed: use 1-64 characters from [A-Za-z0-9._-], "
                                                 "not starting with '.'"));
}

absl::StatusOr<std::string> GenerateDeviceKey() {
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, NewKey());
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("writing the private key");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> MakeCsr(const std::string& key_pem, std::string_view device_id) {
  FEDGE_RETURN_IF_ERROR(CheckDeviceId(device_id));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<EVP_PKEY> key, ParseKey(key_pem));
  OsslPtr<X509_REQ> req(X509_REQ_new());
  const std::string cn(device_id);
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 || X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return Internal("building the certificate signing request");
  }
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) return Internal("writing the request");
  return BioContents(bio.get());
}

absl::StatusOr<CheckedCsr> CheckCsr(std::string_view csr_pem, std::string_view device_id) {
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509_REQ> req, ParseCheckedCsr(csr_pem, device_id));
  CheckedCsr checked;
  FEDGE_ASSIGN_OR_RETURN(checked.public_key_sha256, PublicKeySha256(X509_REQ_get0_pubkey(req.get())));
  return checked;
}

absl::StatusOr<IssuedCert> SignCsr(const TlsKeyCertPair& ca, std::string_view csr_pem, std::string_view device_id,
                                   absl::Duration validity) {
  if (validity <= absl::ZeroDuration()) return absl::InvalidArgumentError("certificate validity must be positive");
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509_REQ> req, ParseCheckedCsr(csr_pem, device_id));
  FEDGE_ASSIGN_OR_RETURN(LoadedCa loaded, LoadCa(ca));
  FEDGE_ASSIGN_OR_RETURN(OsslPtr<X509> cert,
                         NewClientCert(loaded.cert.get(), X509_REQ_get0_pubkey(req.get()), device_id, validity));
  if (X509_sign(cert.get(), loaded.key.get(), EVP_sha256()) <= 0) return Internal("signing the certificate");
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return Internal("writing the certificate");
  IssuedCert issued;
  FEDGE_ASSIGN_OR_RETURN(issued.certificate_pem, BioContents(bio.get()));
  FEDGE_ASSIGN_OR_RETURN(issued.serial_hex, SerialHex(X509_get0_serialNumber(cert.get())));
  return issued;
}

absl::StatusOr<std::string> MakeCrl(const TlsKeyCertPair& ca, const std::vector<RevokedCert>& revoked, absl::Time now,
                                    absl::Duration next_update) {
  FEDGE_ASSIGN_OR_RETURN(LoadedCa loaded, LoadCa(ca));
  OsslPtr<X509_CRL> crl(X509_CRL_new());
  OsslPtr<ASN1_TIME> last(ASN1_TIME_set(nullptr, absl::ToTimeT(now)));
  OsslPtr<ASN1_TIME> next(ASN1_TIME_set(nullptr, absl::ToTimeT(now + next_update)));
  OsslPtr<ASN1_INTEGER> number(ASN1_INTEGER_new());
  if (!crl || !last || !next || !number || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(loaded.cert.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1 ||
      ASN1_INTEGER_set_int64(number.get(), absl::ToUnixSeconds(now)) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1) {
    return Internal("building the CRL");
  }
  for (const RevokedCert& r : revoked) FEDGE_RETURN_IF_ERROR(AddRevoked(crl.get(), r));
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), loaded.key.get(), EVP_sha256()) <= 0) {
    return Internal("signing the CRL");
  }
  OsslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) return Internal("writing the CRL");
  return BioContents(bio.get());
}

}  // namespace fedge
