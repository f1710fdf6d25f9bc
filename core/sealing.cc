#include "core/sealing.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr std::string_view kMagic = "FSL1";
constexpr size_t kNonceSize = 12, kTagSize = 16;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// Sets up AES-256-GCM for `encrypt` with `key`, `nonce` and the associated data.
absl::StatusOr<CipherCtx> Start(bool encrypt, const SealingKey& key, std::string_view nonce,
                                std::string_view associated_data) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int unused = 0;
  if (ctx == nullptr ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, Bytes(key.bytes()), Bytes(nonce), encrypt ? 1 : 0) != 1 ||
      (!associated_data.empty() &&
       EVP_CipherUpdate(ctx.get(), nullptr, &unused, Bytes(associated_data), static_cast<int>(associated_data.size())) != 1)) {
    return absl::InternalError("AES-256-GCM set-up failed in OpenSSL");
  }
  return ctx;
}

}  // namespace

absl::StatusOr<SealingKey> SealingKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return absl::InvalidArgumentError(absl::StrCat("a sealing key is ", kSize, " bytes, got ", bytes.size()));
  }
  return SealingKey(std::string(bytes));
}

absl::StatusOr<SealingKey> SealingKey::Generate() {
  std::string bytes(kSize, '\0');
  if (RAND_bytes(Bytes(bytes), static_cast<int>(kSize)) != 1) {
    return absl::InternalError("OpenSSL could not generate a random key");
  }
  return SealingKey(std::move(bytes));
}

absl::StatusOr<std::string> Seal(const SealingKey& key, std::string_view associated_data,
                                 std::string_view plaintext) {
  if (plaintext.size() > (size_t{1} << 31)) return absl::InvalidArgumentError("a sealed record is at most 2 GiB");
  std::string nonce(kNonceSize, '\0');
  if (RAND_bytes(Bytes(nonce), static_cast<int>(kNonceSize)) != 1) {
    return absl::InternalError("OpenSSL could not draw a nonce");
  }
  FEDGE_ASSIGN_OR_RETURN(CipherCtx ctx, Start(true, key, nonce, associated_data));
  std::string out = std::string(kMagic) + nonce;
  const size_t header = out.size();
  out.resize(header + plaintext.size() + kTagSize);
  int written = 0, final_written = 0;
  unsigned char* body = Bytes(out) + header;
  if (EVP_CipherUpdate(ctx.get(), body, &written, Bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), body + written, &final_written) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, body + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed in OpenSSL");
  }
  return out;
}

absl::StatusOr<std::string> Unseal(const SealingKey& key, std::string_view associated_data,
                                   std::string_view sealed) {
  if (sealed.size() < kMagic.size() + kNonceSize + kTagSize || sealed.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError("not a sealed record, or a truncated one");
  }
  const std::string_view nonce = sealed.substr(kMagic.size(), kNonceSize);
  const std::string_view body = sealed.substr(kMagic.size() + kNonceSize, sealed.size() - kMagic.size() - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  FEDGE_ASSIGN_OR_RETURN(CipherCtx ctx, Start(false, key, nonce, associated_data));
  std::string plaintext(body.size(), '\0');
  int written = 0, final_written = 0;
  if (EVP_CipherUpdate(ctx.get(), Bytes(plaintext), &written, Bytes(body), static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), Bytes(plaintext) + written, &final_written) != 1) {
    return absl::DataLossError("sealed record does not authenticate: altered, or sealed with another key or for "
                               "another purpose");
  }
  return plaintext;
}

absl::StatusOr<SealingKey> FileKeyProvider::Key() {
  created_ = false;
  struct stat st = {};
  if (stat(path_.c_str(), &st) != 0) {
    if (errno != ENOENT) return absl::UnavailableError(absl::StrCat(path_, ": ", std::strerror(errno)));
    FEDGE_ASSIGN_OR_RETURN(SealingKey key, SealingKey::Generate());
    FEDGE_RETURN_IF_ERROR(WriteFileAtomically(path_, key.bytes()));  // created 0600
    created_ = true;
    return key;
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("sealing key ", path_,
                                                      " may be read by group or others; run chmod 600 on it"));
  }
  FEDGE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path_));
  absl::StatusOr<SealingKey> key = SealingKey::FromBytes(bytes);
  if (!key.ok()) return absl::DataLossError(absl::StrCat("sealing key ", path_, ": ", key.status().message()));
  return key;
}

}  // namespace fedge
