#include "secagg/messages.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"  // header-only macros (absl only); fedge::core is not linked
#include "secagg/internal/wire.h"
#include "secagg/shamir.h"

namespace fedge::secagg {
namespace {

using internal::Reader;
using internal::Writer;

constexpr uint8_t kMagic0 = 'S';
constexpr uint8_t kMagic1 = 'A';
constexpr uint8_t kVersion = 1;

Writer Header(MessageType type, const SecAggParams& params) {
  Writer w;
  w.U8(kMagic0);
  w.U8(kMagic1);
  w.U8(kVersion);
  w.U8(static_cast<uint8_t>(type));
  w.U64(params.round_id);
  return w;
}

absl::Status ReadHeader(Reader& r, MessageType want, const SecAggParams& params) {
  FEDGE_ASSIGN_OR_RETURN(uint8_t m0, r.U8("magic"));
  FEDGE_ASSIGN_OR_RETURN(uint8_t m1, r.U8("magic"));
  FEDGE_ASSIGN_OR_RETURN(uint8_t version, r.U8("version"));
  FEDGE_ASSIGN_OR_RETURN(uint8_t type, r.U8("type"));
  FEDGE_ASSIGN_OR_RETURN(uint64_t round, r.U64("round id"));
  if (m0 != kMagic0 || m1 != kMagic1) return absl::InvalidArgumentError("not a secagg message (bad magic)");
  if (version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("secagg message version ", version, " is not supported (want 1)"));
  }
  if (type != static_cast<uint8_t>(want)) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg message of type ", type, " where type ", static_cast<int>(want), " was expected"));
  }
  if (round != params.round_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg message of round ", round, " in round ", params.round_id));
  }
  return absl::OkStatus();
}

// A client id, < num_clients and strictly above `previous` (ascending lists
// are canonical and duplicate-free); previous = -1 for the first.
absl::StatusOr<uint32_t> ReadId(Reader& r, const SecAggParams& params, int64_t previous, const char* what) {
  FEDGE_ASSIGN_OR_RETURN(uint32_t id, r.U32(what));
  if (id >= params.num_clients) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg: ", what, " ", id, " is not a client of this round (", params.num_clients, " clients)"));
  }
  if (static_cast<int64_t>(id) <= previous) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: ", what, " ids must be strictly ascending"));
  }
  return id;
}

absl::StatusOr<uint32_t> ReadCount(Reader& r, const SecAggParams& params, const char* what) {
  FEDGE_ASSIGN_OR_RETURN(uint32_t count, r.U32(what));
  if (count > params.EffectiveNeighbours()) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: ", count, " ", what, " exceeds the ",
                                                   params.EffectiveNeighbours(), " neighbours of a client"));
  }
  return count;
}

absl::Status ReadKey(Reader& r, PublicKey& key, const char* what) {
  FEDGE_ASSIGN_OR_RETURN(absl::string_view bytes, r.Raw(key.size(), what));
  std::memcpy(key.data(), bytes.data(), key.size());
  return absl::OkStatus();
}

void WriteClientKeys(Writer& w, const ClientKeys& k) {
  w.U32(k.client);
  w.Raw(k.mask_key);
  w.Raw(k.encryption_key);
}

absl::Status ReadClientKeys(Reader& r, const SecAggParams& params, int64_t previous, ClientKeys& k) {
  FEDGE_ASSIGN_OR_RETURN(k.client, ReadId(r, params, previous, "client"));
  FEDGE_RETURN_IF_ERROR(ReadKey(r, k.mask_key, "mask key"));
  return ReadKey(r, k.encryption_key, "encryption key");
}

void WriteShares(Writer& w, const std::vector<EncryptedShare>& shares) {
  w.U32(static_cast<uint32_t>(shares.size()));
  for (const EncryptedShare& s : shares) {
    w.U32(s.peer);
    w.Raw(s.ciphertext);
  }
}

absl::StatusOr<std::vector<EncryptedShare>> ReadShares(Reader& r, const SecAggParams& params) {
  FEDGE_ASSIGN_OR_RETURN(uint32_t count, ReadCount(r, params, "encrypted shares"));
  std::vector<EncryptedShare> shares(count);
  int64_t previous = -1;
  for (EncryptedShare& s : shares) {
    FEDGE_ASSIGN_OR_RETURN(s.peer, ReadId(r, params, previous, "share peer"));
    previous = s.peer;
    FEDGE_ASSIGN_OR_RETURN(absl::string_view ct, r.Raw(kShareCiphertextBytes, "share ciphertext"));
    s.ciphertext = std::string(ct);
  }
  return shares;
}

void WriteIds(Writer& w, const std::vector<uint32_t>& ids) {
  w.U32(static_cast<uint32_t>(ids.size()));
  for (uint32_t id : ids) w.U32(id);
}

absl::StatusOr<std::vector<uint32_t>> ReadIds(Reader& r, const SecAggParams& params, const char* what) {
  FEDGE_ASSIGN_OR_RETURN(uint32_t count, ReadCount(r, params, what));
  std::vector<uint32_t> ids(count);
  int64_t previous = -1;
  for (uint32_t& id : ids) {
    FEDGE_ASSIGN_OR_RETURN(id, ReadId(r, params, previous, what));
    previous = id;
  }
  return ids;
}

absl::Status ReadRevealed(Reader& r, const SecAggParams& params, UnmaskResponse& m) {
  FEDGE_ASSIGN_OR_RETURN(m.client, ReadId(r, params, -1, "client"));
  FEDGE_ASSIGN_OR_RETURN(uint32_t count, ReadCount(r, params, "revealed shares"));
  m.shares.resize(count);
  int64_t previous = -1;
  for (RevealedShare& s : m.shares) {
    FEDGE_ASSIGN_OR_RETURN(s.about, ReadId(r, params, previous, "revealed share owner"));
    previous = s.about;
    FEDGE_ASSIGN_OR_RETURN(uint8_t kind, r.U8("share kind"));
    if (kind != static_cast<uint8_t>(ShareKind::kSelfMaskSeed) && kind != static_cast<uint8_t>(ShareKind::kMaskKey)) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: unknown share kind ", kind));
    }
    s.kind = static_cast<ShareKind>(kind);
    const size_t elements = ElementsFor(s.kind == ShareKind::kSelfMaskSeed ? kSelfMaskSeedBytes : kMaskKeyBytes);
    s.values.resize(elements);
    for (uint64_t& v : s.values) {
      FEDGE_ASSIGN_OR_RETURN(v, r.U64("share value"));
      if (v >= kFieldPrime) return absl::InvalidArgumentError("secagg: a revealed share lies outside the field");
    }
  }
  return absl::OkStatus();
}

// Header, body (read by `body` into a T), end of input.
template <typename T, typename Body>
absl::StatusOr<T> DecodeMessage(absl::string_view bytes, MessageType type, const SecAggParams& params, Body body) {
  Reader r(bytes);
  FEDGE_RETURN_IF_ERROR(ReadHeader(r, type, params));
  T m;
  FEDGE_RETURN_IF_ERROR(body(r, m));
  FEDGE_RETURN_IF_ERROR(r.ExpectEnd());
  return m;
}

}  // namespace

absl::StatusOr<MessageType> PeekMessageType(absl::string_view bytes, const SecAggParams& params) {
  if (bytes.size() < kHeaderBytes) return absl::InvalidArgumentError("secagg message shorter than its header");
  const uint8_t type = static_cast<uint8_t>(bytes[3]);
  if (type < 1 || type > 7) return absl::InvalidArgumentError(absl::StrCat("unknown secagg message type ", type));
  Reader r(bytes);
  FEDGE_RETURN_IF_ERROR(ReadHeader(r, static_cast<MessageType>(type), params));
  return static_cast<MessageType>(type);
}

std::string Encode(const AdvertiseKeys& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kAdvertiseKeys, params);
  WriteClientKeys(w, m);
  return w.Take();
}

absl::StatusOr<AdvertiseKeys> DecodeAdvertiseKeys(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<AdvertiseKeys>(bytes, MessageType::kAdvertiseKeys, params, [&](Reader& r, AdvertiseKeys& m) {
    return ReadClientKeys(r, params, -1, m);
  });
}

std::string Encode(const KeyDirectory& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kKeyDirectory, params);
  w.U32(static_cast<uint32_t>(m.neighbours.size()));
  for (const ClientKeys& n : m.neighbours) WriteClientKeys(w, n);
  return w.Take();
}

absl::StatusOr<KeyDirectory> DecodeKeyDirectory(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<KeyDirectory>(
      bytes, MessageType::kKeyDirectory, params, [&](Reader& r, KeyDirectory& m) -> absl::Status {
        FEDGE_ASSIGN_OR_RETURN(uint32_t count, ReadCount(r, params, "directory entries"));
        m.neighbours.resize(count);
        int64_t previous = -1;
        for (ClientKeys& n : m.neighbours) {
          FEDGE_RETURN_IF_ERROR(ReadClientKeys(r, params, previous, n));
          previous = n.client;
        }
        return absl::OkStatus();
      });
}

std::string Encode(const ShareKeys& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kShareKeys, params);
  w.U32(m.client);
  WriteShares(w, m.shares);
  return w.Take();
}

absl::StatusOr<ShareKeys> DecodeShareKeys(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<ShareKeys>(bytes, MessageType::kShareKeys, params, [&](Reader& r, ShareKeys& m) -> absl::Status {
    FEDGE_ASSIGN_OR_RETURN(m.client, ReadId(r, params, -1, "client"));
    FEDGE_ASSIGN_OR_RETURN(m.shares, ReadShares(r, params));
    return absl::OkStatus();
  });
}

std::string Encode(const ShareBundle& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kShareBundle, params);
  WriteShares(w, m.shares);
  return w.Take();
}

absl::StatusOr<ShareBundle> DecodeShareBundle(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<ShareBundle>(bytes, MessageType::kShareBundle, params,
                                    [&](Reader& r, ShareBundle& m) -> absl::Status {
                                      FEDGE_ASSIGN_OR_RETURN(m.shares, ReadShares(r, params));
                                      return absl::OkStatus();
                                    });
}

std::string Encode(const MaskedInput& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kMaskedInput, params);
  w.U32(m.client);
  w.Raw(internal::PackRing(m.masked, params.ring_bits));
  return w.Take();
}

absl::StatusOr<MaskedInput> DecodeMaskedInput(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<MaskedInput>(
      bytes, MessageType::kMaskedInput, params, [&](Reader& r, MaskedInput& m) -> absl::Status {
        FEDGE_ASSIGN_OR_RETURN(m.client, ReadId(r, params, -1, "client"));
        // UnpackRing checks the exact length before it allocates.
        FEDGE_ASSIGN_OR_RETURN(absl::string_view packed, r.Raw(r.remaining(), "masked vector"));
        FEDGE_ASSIGN_OR_RETURN(m.masked, internal::UnpackRing(packed, params.vector_length, params.ring_bits));
        return absl::OkStatus();
      });
}

std::string Encode(const UnmaskRequest& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kUnmaskRequest, params);
  WriteIds(w, m.survivors);
  WriteIds(w, m.dropped);
  return w.Take();
}

absl::StatusOr<UnmaskRequest> DecodeUnmaskRequest(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<UnmaskRequest>(
      bytes, MessageType::kUnmaskRequest, params, [&](Reader& r, UnmaskRequest& m) -> absl::Status {
        FEDGE_ASSIGN_OR_RETURN(m.survivors, ReadIds(r, params, "survivors"));
        FEDGE_ASSIGN_OR_RETURN(m.dropped, ReadIds(r, params, "dropped"));
        return absl::OkStatus();
      });
}

std::string Encode(const UnmaskResponse& m, const SecAggParams& params) {
  Writer w = Header(MessageType::kUnmaskResponse, params);
  w.U32(m.client);
  w.U32(static_cast<uint32_t>(m.shares.size()));
  for (const RevealedShare& s : m.shares) {
    w.U32(s.about);
    w.U8(static_cast<uint8_t>(s.kind));
    for (uint64_t v : s.values) w.U64(v);
  }
  return w.Take();
}

absl::StatusOr<UnmaskResponse> DecodeUnmaskResponse(absl::string_view bytes, const SecAggParams& params) {
  return DecodeMessage<UnmaskResponse>(bytes, MessageType::kUnmaskResponse, params,
                                       [&](Reader& r, UnmaskResponse& m) { return ReadRevealed(r, params, m); });
}

}  // namespace fedge::secagg
