#include "core/signing.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"

namespace fedge {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

constexpr size_t kKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

std::string RawKey(EVP_PKEY* key, bool is_private) {
  std::string raw(kKeyBytes, '\0');
  size_t len = raw.size();
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const int ok = is_private ? EVP_PKEY_get_raw_private_key(key, out, &len)
                            : EVP_PKEY_get_raw_public_key(key, out, &len);
  if (ok != 1 || len != kKeyBytes) return "";
  return raw;
}

std::string PemOf(EVP_PKEY* key, bool is_private) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  const int ok = is_private ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                            : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) return "";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

absl::StatusOr<PkeyPtr> ReadPem(std::string_view pem, bool is_private) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                         : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a PEM ", is_private ? "private" : "public", " key"));
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError("PEM key is not an Ed25519 key");
  }
  return key;
}

}  // namespace

absl::StatusOr<VerifyKey> VerifyKey::FromRaw(std::string_view raw) {
  if (raw.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("Ed25519 public key must be 32 bytes, got ", raw.size()));
  }
  return VerifyKey(std::string(raw));
}

absl::StatusOr<VerifyKey> VerifyKey::FromPem(std::string_view pem) {
  FEDGE_ASSIGN_OR_RETURN(PkeyPtr key, ReadPem(pem, /*is_private=*/false));
  return VerifyKey(RawKey(key.get(), false));
}

absl::StatusOr<VerifyKey> VerifyKey::FromPemFile(const std::string& path) {
  FEDGE_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto key = FromPem(pem);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
  return key;
}

absl::Status VerifyKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kSignatureBytes) {
    return absl::PermissionDeniedError(
        absl::StrCat("signature must be 64 bytes, got ", signature.size(), ": refusing artifact"));
  }
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return absl::InternalError("OpenSSL could not initialise Ed25519 verification");
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
  if (ok != 1) return absl::PermissionDeniedError("signature does not verify with the pinned key");
  return absl::OkStatus();
}

std::string VerifyKey::KeyId() const {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

std::string VerifyKey::ToPem() const {
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size()));
  return key ? PemOf(key.get(), false) : "";
}

absl::StatusOr<SigningKey> SigningKey::Generate() {
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("OpenSSL could not generate an Ed25519 key");
  }
  PkeyPtr key(raw);
  return SigningKey(RawKey(key.get(), true), RawKey(key.get(), false));
}

absl::StatusOr<SigningKey> SigningKey::FromPem(std::string_view pem) {
  FEDGE_ASSIGN_OR_RETURN(PkeyPtr key, ReadPem(pem, /*is_private=*/true));
  return SigningKey(RawKey(key.get(), true), RawKey(key.get(), false));
}

absl::StatusOr<SigningKey> SigningKey::FromPemFile(const std::string& path) {
  FEDGE_ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto key = FromPem(pem);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
  return key;
}

absl::StatusOr<std::string> SigningKey::Sign(std::string_view message) const {
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(private_.data()),
                                           private_.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return absl::InternalError("OpenSSL could not initialise Ed25519 signing");
  }
  std::string sig(kSignatureBytes, '\0');
  size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return absl::InternalError("OpenSSL Ed25519 signing failed");
  }
  return sig;
}

VerifyKey SigningKey::verify_key() const { return VerifyKey(public_); }

std::string SigningKey::ToPem() const {
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(private_.data()),
                                           private_.size()));
  return key ? PemOf(key.get(), true) : "";
}

}  // namespace fedge
