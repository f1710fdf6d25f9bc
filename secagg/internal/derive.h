// File: secagg/internal/derive.h
//
// The key schedule shared by client and server sessions: the pairwise mask
// seed and the share-encryption key of two clients, both HKDF-SHA256 over
// their X25519 secret with the round id as salt and the (unordered) pair in
// the info, and the associated data binding a sealed share to its direction.
//
// Thread-safety: stateless functions.
#ifndef FEDGE_SECAGG_INTERNAL_DERIVE_H_
#define FEDGE_SECAGG_INTERNAL_DERIVE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "secagg/internal/crypto.h"
#include "secagg/params.h"

namespace fedge::secagg::internal {

// The PRG seed s_uv that clients `self` and `peer` both derive (from either
// side's private key and the other's public mask key).
absl::StatusOr<Seed> PairwiseMaskSeed(const SecAggParams& params, const Key32& own_private_key,
                                      const Key32& peer_public_key, uint32_t self, uint32_t peer);

// The AES-256-GCM key for shares between `self` and `peer` (both directions).
absl::StatusOr<Key32> ShareEncryptionKey(const SecAggParams& params, const Key32& own_private_key,
                                         const Key32& peer_public_key, uint32_t self, uint32_t peer);

// Associated data of the share sealed by `from` for `to` in this round.
std::string ShareAad(const SecAggParams& params, uint32_t from, uint32_t to);

}  // namespace fedge::secagg::internal

#endif  // FEDGE_SECAGG_INTERNAL_DERIVE_H_
