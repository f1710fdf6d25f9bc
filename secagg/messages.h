// File: secagg/messages.h
//
// The messages of the secure-aggregation protocol as plain structs, and
// their compact binary encoding (README "Message formats"). Every message
// starts with a 12-byte header: 'S' 'A', version 1, the message type, and
// the round id (u64); integers are little-endian. Decoding is the trust
// boundary: every Decode* checks the header, every count and id against the
// round's parameters, every length exactly, and rejects trailing bytes, so a
// hostile message yields kInvalidArgument and never an allocation beyond
// what the parameters allow.
//
// Thread-safety: plain values and stateless functions.
#ifndef FEDGE_SECAGG_MESSAGES_H_
#define FEDGE_SECAGG_MESSAGES_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "secagg/params.h"

namespace fedge::secagg {

using PublicKey = std::array<uint8_t, 32>;

enum class MessageType : uint8_t {
  kAdvertiseKeys = 1,   // client -> server, stage 0
  kKeyDirectory = 2,    // server -> client, end of stage 0
  kShareKeys = 3,       // client -> server, stage 1
  kShareBundle = 4,     // server -> client, end of stage 1
  kMaskedInput = 5,     // client -> server, stage 2
  kUnmaskRequest = 6,   // server -> client, end of stage 2
  kUnmaskResponse = 7,  // client -> server, stage 3
};

inline constexpr size_t kHeaderBytes = 12;
inline constexpr size_t kSelfMaskSeedBytes = 16;  // b: the AES-128 key of the self-mask
inline constexpr size_t kMaskKeyBytes = 32;       // the X25519 private key of the pairwise masks
// Sealed share plaintext: u32 sender, u32 recipient, ElementsFor(16) and
// ElementsFor(32) field elements of 8 bytes; plus the GCM nonce and tag.
inline constexpr size_t kSharePlaintextBytes = 8 + 8 * (3 + 5);
inline constexpr size_t kShareCiphertextBytes = 12 + kSharePlaintextBytes + 16;

// A client's two X25519 public keys.
struct ClientKeys {
  uint32_t client = 0;
  PublicKey mask_key = {};        // pairwise-mask agreement
  PublicKey encryption_key = {};  // share-encryption agreement
};

// Stage 0: the sender's own keys.
using AdvertiseKeys = ClientKeys;
using NeighbourKeys = ClientKeys;

// End of stage 0: the keys of the recipient's neighbours that advertised.
struct KeyDirectory {
  std::vector<NeighbourKeys> neighbours;  // at most k, ids ascending
};

// One AES-GCM-sealed pair of shares. `peer` is the recipient in ShareKeys
// and the sender in ShareBundle.
struct EncryptedShare {
  uint32_t peer = 0;
  std::string ciphertext;  // kShareCiphertextBytes
};

// Stage 1: the client's shares for each neighbour in its directory.
struct ShareKeys {
  uint32_t client = 0;
  std::vector<EncryptedShare> shares;  // at most k, recipients ascending
};

// End of stage 1: the shares addressed to the recipient by neighbours that
// completed stage 1.
struct ShareBundle {
  std::vector<EncryptedShare> shares;  // at most k, senders ascending
};

// Stage 2: y = x + PRG(b) + sum of +-PRG(s_uv), packed at ring_bits bits.
struct MaskedInput {
  uint32_t client = 0;
  std::vector<uint64_t> masked;  // vector_length elements < 2^ring_bits
};

// End of stage 2: which of the recipient's share-holding neighbours sent a
// masked input (reveal their self-mask seed share) and which did not
// (reveal their mask-key share).
struct UnmaskRequest {
  std::vector<uint32_t> survivors;  // ascending
  std::vector<uint32_t> dropped;    // ascending
};

enum class ShareKind : uint8_t { kSelfMaskSeed = 1, kMaskKey = 2 };

struct RevealedShare {
  uint32_t about = 0;                      // whose secret this is a share of
  ShareKind kind = ShareKind::kSelfMaskSeed;
  std::vector<uint64_t> values;            // 3 (seed) or 5 (mask key) field elements
};

// Stage 3: one revealed share per neighbour named in the request.
struct UnmaskResponse {
  uint32_t client = 0;
  std::vector<RevealedShare> shares;  // at most k, `about` ascending
};

// The type in a message's header (kInvalidArgument for a bad header or a
// message of another round).
absl::StatusOr<MessageType> PeekMessageType(absl::string_view bytes, const SecAggParams& params);

std::string Encode(const AdvertiseKeys& m, const SecAggParams& params);
std::string Encode(const KeyDirectory& m, const SecAggParams& params);
std::string Encode(const ShareKeys& m, const SecAggParams& params);
std::string Encode(const ShareBundle& m, const SecAggParams& params);
std::string Encode(const MaskedInput& m, const SecAggParams& params);
std::string Encode(const UnmaskRequest& m, const SecAggParams& params);
std::string Encode(const UnmaskResponse& m, const SecAggParams& params);

// Precondition for all: params.Validate() is OK.
absl::StatusOr<AdvertiseKeys> DecodeAdvertiseKeys(absl::string_view bytes, const SecAggParams& params);
absl::StatusOr<KeyDirectory> DecodeKeyDirectory(absl::string_view bytes, const SecAggParams& params);
absl::StatusOr<ShareKeys> DecodeShareKeys(absl::string_view bytes, const SecAggParams& params);
absl::StatusOr<ShareBundle> DecodeShareBundle(absl::string_view bytes, const SecAggParams& params);
absl::StatusOr<MaskedInput> DecodeMaskedInput(absl::string_view bytes, const SecAggParams& params);
absl::StatusOr<UnmaskRequest> DecodeUnmaskRequest(absl::string_view bytes, const SecAggParams& params);
absl::StatusOr<UnmaskResponse> DecodeUnmaskResponse(absl::string_view bytes, const SecAggParams& params);

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_MESSAGES_H_
