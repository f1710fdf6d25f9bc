// File: secagg/internal/crypto.h
//
// Thin wrappers over the OpenSSL primitives the protocol uses: X25519 key
// agreement, HKDF-SHA256, AES-256-GCM for the encrypted shares, and
// AES-128-CTR as the PRG that expands a 16-byte seed into a mask over
// Z_{2^k}. No cryptography is implemented here.
//
// Thread-safety: stateless functions, safe for concurrent use.
#ifndef FEDGE_SECAGG_INTERNAL_CRYPTO_H_
#define FEDGE_SECAGG_INTERNAL_CRYPTO_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "secagg/random.h"

namespace fedge::secagg::internal {

inline constexpr size_t kX25519KeyBytes = 32;
inline constexpr size_t kSeedBytes = 16;  // AES-128 key of the mask PRG
inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

using Key32 = std::array<uint8_t, kX25519KeyBytes>;
using Seed = std::array<uint8_t, kSeedBytes>;

struct X25519KeyPair {
  Key32 private_key = {};
  Key32 public_key = {};
};

// A fresh key pair from `random` (the private key is 32 random bytes).
absl::StatusOr<X25519KeyPair> GenerateX25519(Randomness& random);
// The public key of a private key (used to check a reconstructed key).
absl::StatusOr<Key32> X25519PublicKey(const Key32& private_key);
// The raw X25519 shared secret; kInvalidArgument for a peer key OpenSSL
// rejects (e.g. a small-order point giving the all-zero secret).
absl::StatusOr<Key32> X25519Agree(const Key32& private_key, const Key32& peer_public_key);

// HKDF-SHA256 with the given salt and info, `out_len` bytes.
absl::StatusOr<std::string> Hkdf(absl::string_view secret, absl::string_view salt, absl::string_view info,
                                 size_t out_len);

// AES-256-GCM: returns nonce || ciphertext || tag.
absl::StatusOr<std::string> AeadSeal(const Key32& key, absl::string_view aad, absl::string_view plaintext,
                                     Randomness& random);
// Inverse of AeadSeal; kInvalidArgument if the bytes do not authenticate.
absl::StatusOr<std::string> AeadOpen(const Key32& key, absl::string_view aad, absl::string_view sealed);

// Writes the AES-128-CTR keystream of `key` starting at 16-byte block
// `first_block` into `out`. Aborts only if OpenSSL cannot run AES at all.
void AesCtrKeystream(const uint8_t key[16], uint64_t first_block, absl::Span<uint8_t> out);

// acc[i] = acc[i] ± PRG(seed)[i] mod 2^ring_bits, where PRG(seed)[i] is the
// i-th element of Z_{2^ring_bits} read from the AES-128-CTR keystream
// (ceil(ring_bits/8) little-endian bytes per element, masked to ring_bits).
void AddMask(const Seed& seed, int ring_bits, bool subtract, absl::Span<uint64_t> acc);

// 2^ring_bits - 1 (all ones for 64).
inline uint64_t RingMask(int ring_bits) {
  return ring_bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << ring_bits) - 1;
}

}  // namespace fedge::secagg::internal

#endif  // FEDGE_SECAGG_INTERNAL_CRYPTO_H_
