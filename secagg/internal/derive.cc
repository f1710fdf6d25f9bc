#include "secagg/internal/derive.h"

#include <algorithm>
#include <cstring>

#include "core/status.h"  // header-only macros (absl only)
#include "secagg/internal/wire.h"

namespace fedge::secagg::internal {
namespace {

std::string Salt(const SecAggParams& params) {
  Writer w;
  w.U64(params.round_id);
  return w.Take();
}

std::string PairInfo(absl::string_view label, uint32_t a, uint32_t b) {
  Writer w;
  w.Raw(label);
  w.U32(std::min(a, b));
  w.U32(std::max(a, b));
  return w.Take();
}

absl::StatusOr<std::string> Derive(const SecAggParams& params, const Key32& own_private_key,
                                   const Key32& peer_public_key, absl::string_view label, uint32_t self,
                                   uint32_t peer, size_t out_len) {
  FEDGE_ASSIGN_OR_RETURN(Key32 shared, X25519Agree(own_private_key, peer_public_key));
  absl::string_view secret(reinterpret_cast<const char*>(shared.data()), shared.size());
  return Hkdf(secret, Salt(params), PairInfo(label, self, peer), out_len);
}

}  // namespace

absl::StatusOr<Seed> PairwiseMaskSeed(const SecAggParams& params, const Key32& own_private_key,
                                      const Key32& peer_public_key, uint32_t self, uint32_t peer) {
  FEDGE_ASSIGN_OR_RETURN(std::string bytes, Derive(params, own_private_key, peer_public_key,
                                                   "fedge-secagg/v1 pairwise mask", self, peer, kSeedBytes));
  Seed seed;
  std::memcpy(seed.data(), bytes.data(), seed.size());
  return seed;
}

absl::StatusOr<Key32> ShareEncryptionKey(const SecAggParams& params, const Key32& own_private_key,
                                         const Key32& peer_public_key, uint32_t self, uint32_t peer) {
  FEDGE_ASSIGN_OR_RETURN(std::string bytes, Derive(params, own_private_key, peer_public_key,
                                                   "fedge-secagg/v1 share encryption", self, peer, 32));
  Key32 key;
  std::memcpy(key.data(), bytes.data(), key.size());
  return key;
}

std::string ShareAad(const SecAggParams& params, uint32_t from, uint32_t to) {
  Writer w;
  w.Raw("fedge-secagg/v1 share");
  w.U64(params.round_id);
  w.U32(from);
  w.U32(to);
  return w.Take();
}

}  // namespace fedge::secagg::internal
