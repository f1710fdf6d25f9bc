#include "secagg/client_session.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include <openssl/crypto.h>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"  // header-only macros (absl only)
#include "secagg/internal/derive.h"
#include "secagg/internal/wire.h"

namespace fedge::secagg {
namespace {

constexpr size_t kSeedElements = 3;  // ElementsFor(kSelfMaskSeedBytes)
constexpr size_t kKeyElements = 5;   // ElementsFor(kMaskKeyBytes)
static_assert(ElementsFor(kSelfMaskSeedBytes) == kSeedElements && ElementsFor(kMaskKeyBytes) == kKeyElements);

absl::string_view View(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

std::string SharePlaintext(uint32_t from, uint32_t to, const ShamirShare& seed, const ShamirShare& key) {
  internal::Writer w;
  w.U32(from);
  w.U32(to);
  for (uint64_t v : seed.values) w.U64(v);
  for (uint64_t v : key.values) w.U64(v);
  return w.Take();
}

absl::StatusOr<std::vector<uint64_t>> ReadElements(internal::Reader& r, size_t count) {
  std::vector<uint64_t> values(count);
  for (uint64_t& v : values) {
    FEDGE_ASSIGN_OR_RETURN(v, r.U64("share value"));
    if (v >= kFieldPrime) return absl::InvalidArgumentError("secagg: a received share lies outside the field");
  }
  return values;
}

}  // namespace

struct HeldShares {
  std::vector<uint64_t> self_mask_seed;  // share of the neighbour's b
  std::vector<uint64_t> mask_key;        // share of its mask private key
};

struct ClientSecrets {
  internal::X25519KeyPair mask_keys;
  internal::X25519KeyPair encryption_keys;
  internal::Seed self_mask_seed = {};
  std::map<uint32_t, HeldShares> held;  // neighbours whose shares we hold

  void ForgetShares() {
    for (auto& [peer, shares] : held) {
      OPENSSL_cleanse(shares.self_mask_seed.data(), shares.self_mask_seed.size() * sizeof(uint64_t));
      OPENSSL_cleanse(shares.mask_key.data(), shares.mask_key.size() * sizeof(uint64_t));
    }
    held.clear();
  }
  ~ClientSecrets() {
    ForgetShares();
    OPENSSL_cleanse(mask_keys.private_key.data(), mask_keys.private_key.size());
    OPENSSL_cleanse(encryption_keys.private_key.data(), encryption_keys.private_key.size());
    OPENSSL_cleanse(self_mask_seed.data(), self_mask_seed.size());
  }
};

ClientSession::ClientSession(const SecAggParams& params, uint32_t id, Randomness& random)
    : params_(params), id_(id), random_(random), graph_(params), secrets_(std::make_unique<ClientSecrets>()) {}

ClientSession::~ClientSession() = default;

absl::StatusOr<std::unique_ptr<ClientSession>> ClientSession::Create(const SecAggParams& params, uint32_t client_id,
                                                                     Randomness& random) {
  FEDGE_RETURN_IF_ERROR(params.Validate());
  if (client_id >= params.num_clients) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg: client id ", client_id, " is not below num_clients ", params.num_clients));
  }
  return std::unique_ptr<ClientSession>(new ClientSession(params, client_id, random));
}

absl::Status ClientSession::Expect(State state) const {
  if (state_ == State::kAborted) {
    return absl::FailedPreconditionError("secagg: this client session was aborted after an earlier error");
  }
  if (state_ != state) {
    return absl::FailedPreconditionError("secagg: client session method called out of order (or twice)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ClientSession::RunStage(State expected, Stage stage, size_t bytes_received,
                                                    State next,
                                                    absl::FunctionRef<absl::StatusOr<std::string>()> body) {
  FEDGE_RETURN_IF_ERROR(Expect(expected));
  StageCost& cost = costs_.at(stage);
  StageTimer timer(cost);
  cost.bytes_received += bytes_received;
  absl::StatusOr<std::string> out = body();
  if (!out.ok()) {
    state_ = State::kAborted;
    secrets_->ForgetShares();  // nothing more can be revealed
    return out;
  }
  cost.bytes_sent += out->size();
  state_ = next;
  return out;
}

absl::StatusOr<std::string> ClientSession::Advertise() {
  return RunStage(State::kAdvertise, Stage::kAdvertiseKeys, 0, State::kShareKeys,
                  [&]() -> absl::StatusOr<std::string> {
                    FEDGE_ASSIGN_OR_RETURN(secrets_->mask_keys, internal::GenerateX25519(random_));
                    FEDGE_ASSIGN_OR_RETURN(secrets_->encryption_keys, internal::GenerateX25519(random_));
                    random_.Fill(absl::MakeSpan(secrets_->self_mask_seed));
                    return Encode(AdvertiseKeys{.client = id_,
                                                .mask_key = secrets_->mask_keys.public_key,
                                                .encryption_key = secrets_->encryption_keys.public_key},
                                  params_);
                  });
}

absl::StatusOr<std::string> ClientSession::OnKeyDirectory(absl::string_view bytes) {
  return RunStage(State::kShareKeys, Stage::kShareKeys, bytes.size(), State::kMaskedInput,
                  [&]() -> absl::StatusOr<std::string> {
                    FEDGE_ASSIGN_OR_RETURN(KeyDirectory directory, DecodeKeyDirectory(bytes, params_));
                    return ShareKeysFor(directory);
                  });
}

absl::StatusOr<std::string> ClientSession::ShareKeysFor(const KeyDirectory& directory) {
  // Keys must be distinct: a server replaying our own (or one client's) keys
  // to others could otherwise make masks cancel with the wrong party.
  absl::flat_hash_set<std::string> keys = {std::string(View(secrets_->mask_keys.public_key.data(), 32)),
                                           std::string(View(secrets_->encryption_keys.public_key.data(), 32))};
  std::vector<uint32_t> holders;
  for (const NeighbourKeys& n : directory.neighbours) {
    if (!graph_.AreNeighbours(id_, n.client)) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: key directory names client ", n.client,
                                                     ", which is not a neighbour of client ", id_));
    }
    if (!keys.insert(std::string(View(n.mask_key.data(), 32))).second ||
        !keys.insert(std::string(View(n.encryption_key.data(), 32))).second) {
      return absl::InvalidArgumentError("secagg: key directory repeats a public key");
    }
    directory_[n.client] = n;
    holders.push_back(n.client);
  }
  if (holders.size() < params_.threshold) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: only ", holders.size(), " neighbours advertised keys; ",
                                                      params_.threshold, " are needed to hold the shares"));
  }
  std::string seed(View(secrets_->self_mask_seed.data(), secrets_->self_mask_seed.size()));
  std::string key(View(secrets_->mask_keys.private_key.data(), secrets_->mask_keys.private_key.size()));
  absl::StatusOr<std::vector<ShamirShare>> seed_shares = ShamirSplit(seed, params_.threshold, holders, random_);
  absl::StatusOr<std::vector<ShamirShare>> key_shares = ShamirSplit(key, params_.threshold, holders, random_);
  OPENSSL_cleanse(seed.data(), seed.size());  // the copies of the secrets
  OPENSSL_cleanse(key.data(), key.size());
  FEDGE_RETURN_IF_ERROR(seed_shares.status());
  FEDGE_RETURN_IF_ERROR(key_shares.status());
  ShareKeys m;
  m.client = id_;
  for (size_t i = 0; i < holders.size(); ++i) {
    FEDGE_ASSIGN_OR_RETURN(std::string sealed, SealShares(holders[i], (*seed_shares)[i], (*key_shares)[i]));
    m.shares.push_back(EncryptedShare{.peer = holders[i], .ciphertext = std::move(sealed)});
  }
  return Encode(m, params_);
}

absl::StatusOr<std::string> ClientSession::SealShares(uint32_t peer, const ShamirShare& seed, const ShamirShare& key) {
  const NeighbourKeys& n = directory_.at(peer);
  FEDGE_ASSIGN_OR_RETURN(internal::Key32 aead_key,
                         internal::ShareEncryptionKey(params_, secrets_->encryption_keys.private_key,
                                                      n.encryption_key, id_, peer));
  return internal::AeadSeal(aead_key, internal::ShareAad(params_, id_, peer), SharePlaintext(id_, peer, seed, key),
                            random_);
}

absl::StatusOr<std::string> ClientSession::OnShareBundle(absl::string_view bytes, absl::Span<const uint64_t> input) {
  FEDGE_RETURN_IF_ERROR(Expect(State::kMaskedInput));
  // A bad input is the caller's mistake, not the server's: do not abort.
  if (input.size() != params_.vector_length) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: input has ", input.size(), " elements, the round expects ",
                                                   params_.vector_length));
  }
  const uint64_t ring_mask = internal::RingMask(params_.ring_bits);
  for (size_t i = 0; i < input.size(); ++i) {
    if ((input[i] & ~ring_mask) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: input element ", i, " = ", input[i],
                                                     " does not fit in ", params_.ring_bits, " bits"));
    }
  }
  return RunStage(State::kMaskedInput, Stage::kMaskedInput, bytes.size(), State::kUnmask,
                  [&]() -> absl::StatusOr<std::string> {
                    FEDGE_ASSIGN_OR_RETURN(ShareBundle bundle, DecodeShareBundle(bytes, params_));
                    return MaskInput(bundle, input);
                  });
}

absl::StatusOr<std::string> ClientSession::MaskInput(const ShareBundle& bundle, absl::Span<const uint64_t> input) {
  for (const EncryptedShare& share : bundle.shares) {
    const uint32_t from = share.peer;
    auto it = directory_.find(from);
    if (it == directory_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("secagg: share bundle holds shares from client ", from,
                                                     ", which is not in our key directory"));
    }
    FEDGE_ASSIGN_OR_RETURN(internal::Key32 aead_key, internal::ShareEncryptionKey(
                                                         params_, secrets_->encryption_keys.private_key,
                                                         it->second.encryption_key, id_, from));
    FEDGE_ASSIGN_OR_RETURN(std::string plain,
                           internal::AeadOpen(aead_key, internal::ShareAad(params_, from, id_), share.ciphertext));
    internal::Reader r(plain);
    FEDGE_ASSIGN_OR_RETURN(uint32_t sender, r.U32("share sender"));
    FEDGE_ASSIGN_OR_RETURN(uint32_t recipient, r.U32("share recipient"));
    if (sender != from || recipient != id_) {
      return absl::InvalidArgumentError("secagg: a decrypted share names the wrong sender or recipient");
    }
    HeldShares held;
    FEDGE_ASSIGN_OR_RETURN(held.self_mask_seed, ReadElements(r, kSeedElements));
    FEDGE_ASSIGN_OR_RETURN(held.mask_key, ReadElements(r, kKeyElements));
    FEDGE_RETURN_IF_ERROR(r.ExpectEnd());
    secrets_->held[from] = std::move(held);
  }
  // The neighbours that hold our shares are exactly those whose shares we
  // hold (the server forwards shares only among clients that finished stage 1).
  if (secrets_->held.size() < params_.threshold) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: only ", secrets_->held.size(),
                                                      " neighbours completed the share exchange; ",
                                                      params_.threshold, " are needed"));
  }
  MaskedInput m;
  m.client = id_;
  m.masked.assign(input.begin(), input.end());
  internal::AddMask(secrets_->self_mask_seed, params_.ring_bits, /*subtract=*/false, absl::MakeSpan(m.masked));
  for (const auto& [peer, unused] : secrets_->held) {
    FEDGE_ASSIGN_OR_RETURN(internal::Seed seed,
                           internal::PairwiseMaskSeed(params_, secrets_->mask_keys.private_key,
                                                      directory_.at(peer).mask_key, id_, peer));
    // +PRG(s_uv) for the smaller id, -PRG(s_uv) for the larger: they cancel.
    internal::AddMask(seed, params_.ring_bits, /*subtract=*/id_ > peer, absl::MakeSpan(m.masked));
  }
  return Encode(m, params_);
}

absl::StatusOr<std::string> ClientSession::OnUnmaskRequest(absl::string_view bytes) {
  return RunStage(State::kUnmask, Stage::kUnmasking, bytes.size(), State::kDone,
                  [&]() -> absl::StatusOr<std::string> {
                    FEDGE_ASSIGN_OR_RETURN(UnmaskRequest request, DecodeUnmaskRequest(bytes, params_));
                    absl::StatusOr<std::string> out = Reveal(request);
                    secrets_->ForgetShares();  // answered once; a second request finds nothing
                    return out;
                  });
}

absl::StatusOr<std::string> ClientSession::Reveal(const UnmaskRequest& request) {
  // Each neighbour whose shares we hold must be named exactly once: as a
  // survivor (reveal its self-mask seed share) or as dropped (reveal its
  // mask-key share). Never both, which would let the server unmask it.
  std::map<uint32_t, ShareKind> kinds;
  for (uint32_t u : request.survivors) kinds[u] = ShareKind::kSelfMaskSeed;
  for (uint32_t u : request.dropped) {
    if (!kinds.emplace(u, ShareKind::kMaskKey).second) {
      return absl::PermissionDeniedError(absl::StrCat("secagg: the server named client ", u,
                                                      " both surviving and dropped; refusing to reveal either share"));
    }
  }
  for (const auto& [u, kind] : kinds) {
    if (u == id_) return absl::InvalidArgumentError("secagg: the unmask request names this client itself");
    if (!secrets_->held.contains(u)) {
      return absl::InvalidArgumentError(
          absl::StrCat("secagg: the unmask request names client ", u, ", whose shares this client does not hold"));
    }
  }
  if (kinds.size() != secrets_->held.size()) {
    return absl::InvalidArgumentError("secagg: the unmask request leaves out neighbours whose shares we hold");
  }
  // We survived too, so the survivors known to us are request.survivors + 1.
  if (request.survivors.size() + 1 < params_.threshold) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: only ", request.survivors.size() + 1,
                                                      " clients of this neighbourhood survived; ", params_.threshold,
                                                      " are needed, so nothing is revealed"));
  }
  UnmaskResponse m;
  m.client = id_;
  for (const auto& [u, kind] : kinds) {
    const HeldShares& held = secrets_->held.at(u);
    m.shares.push_back(RevealedShare{
        .about = u, .kind = kind, .values = kind == ShareKind::kSelfMaskSeed ? held.self_mask_seed : held.mask_key});
  }
  return Encode(m, params_);
}

}  // namespace fedge::secagg
