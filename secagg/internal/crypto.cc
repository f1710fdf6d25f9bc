#include "secagg/internal/crypto.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"

namespace fedge::secagg::internal {
namespace {

// The mask PRG reads elements with memcpy.
static_assert(std::endian::native == std::endian::little, "secagg assumes a little-endian host");

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

const unsigned char* Bytes(absl::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

absl::Status OpenSslError(const char* what) { return absl::InternalError(std::string("secagg: OpenSSL ") + what); }

}  // namespace

absl::StatusOr<Key32> X25519PublicKey(const Key32& private_key) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  if (!key) return OpenSslError("rejected an X25519 private key");
  Key32 pub;
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return OpenSslError("could not compute an X25519 public key");
  }
  return pub;
}

absl::StatusOr<X25519KeyPair> GenerateX25519(Randomness& random) {
  X25519KeyPair pair;
  random.Fill(absl::MakeSpan(pair.private_key));
  absl::StatusOr<Key32> pub = X25519PublicKey(pair.private_key);
  if (!pub.ok()) return pub.status();
  pair.public_key = *pub;
  return pair;
}

absl::StatusOr<Key32> X25519Agree(const Key32& private_key, const Key32& peer_public_key) {
  Pkey own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(), private_key.size()));
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer_public_key.data(), peer_public_key.size()));
  if (!own || !peer) return absl::InvalidArgumentError("secagg: malformed X25519 key");
  PkeyCtx ctx(EVP_PKEY_CTX_new(own.get(), nullptr));
  Key32 secret;
  size_t len = secret.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != secret.size()) {
    return absl::InvalidArgumentError("secagg: X25519 key agreement failed (a peer sent an invalid public key)");
  }
  return secret;
}

absl::StatusOr<std::string> Hkdf(absl::string_view secret, absl::string_view salt, absl::string_view info,
                                 size_t out_len) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::string out(out_len, '\0');
  size_t len = out_len;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), Bytes(salt), static_cast<int>(salt.size())) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), Bytes(secret), static_cast<int>(secret.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), Bytes(info), static_cast<int>(info.size())) <= 0 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) <= 0 || len != out_len) {
    return OpenSslError("HKDF failed");
  }
  return out;
}

absl::StatusOr<std::string> AeadSeal(const Key32& key, absl::string_view aad, absl::string_view plaintext,
                                     Randomness& random) {
  std::string out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  random.Fill(absl::MakeSpan(o, kGcmNonceBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kGcmNonceBytes, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kGcmNonceBytes + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, o + kGcmNonceBytes + plaintext.size()) !=
          1) {
    return OpenSslError("AES-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AeadOpen(const Key32& key, absl::string_view aad, absl::string_view sealed) {
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes) {
    return absl::InvalidArgumentError("secagg: encrypted share too short");
  }
  const size_t n = sealed.size() - kGcmNonceBytes - kGcmTagBytes;
  std::string out(n, '\0');
  const unsigned char* s = Bytes(sealed);
  std::array<unsigned char, kGcmTagBytes> tag;
  std::memcpy(tag.data(), s + kGcmNonceBytes + n, kGcmTagBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), s) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, s + kGcmNonceBytes,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return absl::InvalidArgumentError("secagg: an encrypted share does not authenticate (wrong key, round or sender)");
  }
  return out;
}

namespace {

// Fetched once: an implicit fetch on every EVP_EncryptInit_ex costs a
// locked table lookup, which shows at one call per mask.
const EVP_CIPHER* Aes128Ctr() {
  static const EVP_CIPHER* cipher = [] {
    const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
    if (c == nullptr) std::abort();
    return c;
  }();
  return cipher;
}

// An AES-128-CTR keystream generator starting at 16-byte block `first_block`.
class CtrStream {
 public:
  CtrStream(const uint8_t key[16], uint64_t first_block) : ctx_(EVP_CIPHER_CTX_new()) {
    unsigned char iv[16] = {};
    for (int i = 0; i < 8; ++i) iv[15 - i] = static_cast<unsigned char>(first_block >> (8 * i));  // big-endian
    if (!ctx_ || EVP_EncryptInit_ex(ctx_.get(), Aes128Ctr(), nullptr, key, iv) != 1) std::abort();
  }
  // The next out.size() keystream bytes.
  void Next(absl::Span<uint8_t> out) {
    std::memset(out.data(), 0, out.size());
    int len = 0;
    if (EVP_EncryptUpdate(ctx_.get(), out.data(), &len, out.data(), static_cast<int>(out.size())) != 1) std::abort();
  }

 private:
  CipherCtx ctx_;
};

// acc[i] ±= the i-th W-byte little-endian word of `stream`, masked.
template <size_t W>
void Fold(const uint8_t* stream, uint64_t mask, bool subtract, uint64_t* acc, size_t count) {
  for (size_t i = 0; i < count; ++i, stream += W) {
    uint64_t v = 0;
    std::memcpy(&v, stream, W);  // constant size: one load
    v &= mask;
    acc[i] = (subtract ? acc[i] - v : acc[i] + v) & mask;
  }
}

}  // namespace

void AesCtrKeystream(const uint8_t key[16], uint64_t first_block, absl::Span<uint8_t> out) {
  if (out.empty()) return;
  CtrStream(key, first_block).Next(out);
}

void AddMask(const Seed& seed, int ring_bits, bool subtract, absl::Span<uint64_t> acc) {
  const size_t width = static_cast<size_t>(ring_bits + 7) / 8;
  const uint64_t mask = RingMask(ring_bits);
  constexpr size_t kChunk = 4096;  // elements per keystream call: bounded scratch memory
  std::vector<uint8_t> stream(kChunk * width);
  CtrStream ctr(seed.data(), 0);
  for (size_t begin = 0; begin < acc.size(); begin += kChunk) {
    const size_t count = std::min(kChunk, acc.size() - begin);
    ctr.Next(absl::MakeSpan(stream.data(), count * width));
    uint64_t* a = acc.data() + begin;
    switch (width) {
      case 1: Fold<1>(stream.data(), mask, subtract, a, count); break;
      case 2: Fold<2>(stream.data(), mask, subtract, a, count); break;
      case 3: Fold<3>(stream.data(), mask, subtract, a, count); break;
      case 4: Fold<4>(stream.data(), mask, subtract, a, count); break;
      case 5: Fold<5>(stream.data(), mask, subtract, a, count); break;
      case 6: Fold<6>(stream.data(), mask, subtract, a, count); break;
      case 7: Fold<7>(stream.data(), mask, subtract, a, count); break;
      default: Fold<8>(stream.data(), mask, subtract, a, count); break;
    }
  }
}

}  // namespace fedge::secagg::internal
