#include "secagg/server_session.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"  // header-only macros (absl only)
#include "secagg/internal/crypto.h"
#include "secagg/internal/derive.h"

namespace fedge::secagg {
namespace {

const char* StageName(int state) {
  static const char* const kNames[] = {"advertise-keys", "share-keys", "masked-input", "unmasking", "done", "failed"};
  return kNames[state];
}

}  // namespace

ServerSession::ServerSession(const SecAggParams& params)
    : params_(params), graph_(params), clients_(params.num_clients), sum_(params.vector_length, 0) {}

absl::StatusOr<std::unique_ptr<ServerSession>> ServerSession::Create(const SecAggParams& params) {
  FEDGE_RETURN_IF_ERROR(params.Validate());
  return std::unique_ptr<ServerSession>(new ServerSession(params));
}

absl::Status ServerSession::Expect(State state, uint32_t sender) const {
  if (state_ == State::kFailed) return absl::FailedPreconditionError("secagg: the round has failed");
  if (state_ != state) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: a ", StageName(static_cast<int>(state)),
                                                      " message arrived in stage ",
                                                      StageName(static_cast<int>(state_))));
  }
  if (sender >= params_.num_clients) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: sender ", sender, " is not a client of this round"));
  }
  return absl::OkStatus();
}

absl::Status ServerSession::Fail(absl::Status status) {
  state_ = State::kFailed;
  clients_.clear();  // drop every share and key: nothing more to reveal
  sum_.clear();
  return status;
}

absl::Status ServerSession::BeginClose(State state, bool (*done)(const Client&), const char* stage) {
  FEDGE_RETURN_IF_ERROR(Expect(state, 0));
  size_t count = 0;
  for (const Client& c : clients_) count += done(c) ? 1 : 0;
  if (count >= params_.threshold) return absl::OkStatus();
  return Fail(absl::FailedPreconditionError(absl::StrCat("secagg: only ", count, " clients completed ", stage,
                                                         "; the threshold is ", params_.threshold,
                                                         ", so the round fails and reveals nothing")));
}

template <typename T>
absl::StatusOr<T> ServerSession::Receive(State state, Stage stage, uint32_t sender, absl::string_view bytes,
                                         absl::StatusOr<T> (*decode)(absl::string_view, const SecAggParams&)) {
  FEDGE_RETURN_IF_ERROR(Expect(state, sender));
  costs_.at(stage).bytes_received += bytes.size();
  return decode(bytes, params_);
}

// ---- Stage 0 ----------------------------------------------------------

absl::Status ServerSession::OnAdvertiseKeys(uint32_t sender, absl::string_view bytes) {
  StageTimer timer(costs_.at(Stage::kAdvertiseKeys));
  FEDGE_ASSIGN_OR_RETURN(AdvertiseKeys m,
                         Receive(State::kAdvertise, Stage::kAdvertiseKeys, sender, bytes, DecodeAdvertiseKeys));
  if (m.client != sender) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: client ", sender, " sent keys as client ", m.client));
  }
  if (clients_[sender].keys.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: client ", sender, " advertised keys twice"));
  }
  clients_[sender].keys = m;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutgoingMessage>> ServerSession::CloseAdvertise() {
  StageCost& cost = costs_.at(Stage::kAdvertiseKeys);
  StageTimer timer(cost);
  FEDGE_RETURN_IF_ERROR(
      BeginClose(State::kAdvertise, [](const Client& c) { return c.keys.has_value(); }, "key advertisement"));
  std::vector<OutgoingMessage> out;
  for (uint32_t u = 0; u < params_.num_clients; ++u) {
    if (!clients_[u].keys.has_value()) continue;
    KeyDirectory directory;
    for (uint32_t v : graph_.Neighbours(u)) {
      const std::optional<AdvertiseKeys>& keys = clients_[v].keys;
      if (!keys.has_value()) continue;
      directory.neighbours.push_back(*keys);
    }
    out.push_back(OutgoingMessage{.client = u, .bytes = Encode(directory, params_)});
    cost.bytes_sent += out.back().bytes.size();
  }
  state_ = State::kShareKeys;
  return out;
}

// ---- Stage 1 ----------------------------------------------------------

absl::Status ServerSession::CheckShareKeys(uint32_t sender, const ShareKeys& m) const {
  if (m.client != sender) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: client ", sender, " sent shares as client ", m.client));
  }
  if (!clients_[sender].keys.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: client ", sender, " sent shares without keys"));
  }
  if (clients_[sender].shared) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: client ", sender, " sent shares twice"));
  }
  // Exactly one share for each neighbour in its directory, or the pairwise
  // masks would not be symmetric. Both lists are ascending.
  size_t next = 0;
  for (uint32_t v : graph_.Neighbours(sender)) {
    if (!clients_[v].keys.has_value()) continue;
    if (next >= m.shares.size() || m.shares[next].peer != v) {
      return absl::InvalidArgumentError(
          absl::StrCat("secagg: client ", sender, " sent no share for its neighbour ", v));
    }
    ++next;
  }
  if (next != m.shares.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("secagg: client ", sender, " sent shares for clients outside its key directory"));
  }
  return absl::OkStatus();
}

absl::Status ServerSession::OnShareKeys(uint32_t sender, absl::string_view bytes) {
  StageTimer timer(costs_.at(Stage::kShareKeys));
  FEDGE_ASSIGN_OR_RETURN(ShareKeys m, Receive(State::kShareKeys, Stage::kShareKeys, sender, bytes, DecodeShareKeys));
  FEDGE_RETURN_IF_ERROR(CheckShareKeys(sender, m));
  for (EncryptedShare& share : m.shares) {
    clients_[share.peer].inbox.push_back(EncryptedShare{.peer = sender, .ciphertext = std::move(share.ciphertext)});
  }
  clients_[sender].shared = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutgoingMessage>> ServerSession::CloseShares() {
  StageCost& cost = costs_.at(Stage::kShareKeys);
  StageTimer timer(cost);
  FEDGE_RETURN_IF_ERROR(BeginClose(State::kShareKeys, [](const Client& c) { return c.shared; }, "the share exchange"));
  std::vector<OutgoingMessage> out;
  for (uint32_t v = 0; v < params_.num_clients; ++v) {
    Client& c = clients_[v];
    if (!c.shared) {
      c.inbox.clear();
      continue;
    }
    ShareBundle bundle;
    for (EncryptedShare& share : c.inbox) {
      if (clients_[share.peer].shared) bundle.shares.push_back(std::move(share));
    }
    c.inbox.clear();
    std::sort(bundle.shares.begin(), bundle.shares.end(),
              [](const EncryptedShare& a, const EncryptedShare& b) { return a.peer < b.peer; });
    out.push_back(OutgoingMessage{.client = v, .bytes = Encode(bundle, params_)});
    cost.bytes_sent += out.back().bytes.size();
  }
  state_ = State::kMaskedInput;
  return out;
}

// ---- Stage 2 ----------------------------------------------------------

absl::Status ServerSession::OnMaskedInput(uint32_t sender, absl::string_view bytes) {
  StageTimer timer(costs_.at(Stage::kMaskedInput));
  FEDGE_ASSIGN_OR_RETURN(MaskedInput m,
                         Receive(State::kMaskedInput, Stage::kMaskedInput, sender, bytes, DecodeMaskedInput));
  if (m.client != sender) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: client ", sender, " sent an input as client ", m.client));
  }
  Client& c = clients_[sender];
  if (!c.shared) {
    return absl::FailedPreconditionError(
        absl::StrCat("secagg: client ", sender, " sent a masked input without completing the share exchange"));
  }
  if (c.masked) return absl::FailedPreconditionError(absl::StrCat("secagg: client ", sender, " sent two inputs"));
  const uint64_t mask = internal::RingMask(params_.ring_bits);
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] = (sum_[i] + m.masked[i]) & mask;
  c.masked = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutgoingMessage>> ServerSession::CloseMaskedInput() {
  StageCost& cost = costs_.at(Stage::kMaskedInput);
  StageTimer timer(cost);
  FEDGE_RETURN_IF_ERROR(BeginClose(State::kMaskedInput, [](const Client& c) { return c.masked; }, "the masked upload"));
  std::vector<OutgoingMessage> out;
  for (uint32_t v = 0; v < params_.num_clients; ++v) {
    if (!clients_[v].masked) continue;
    UnmaskRequest request;
    for (uint32_t u : graph_.Neighbours(v)) {
      if (!clients_[u].shared) continue;  // v holds no shares of u
      (clients_[u].masked ? request.survivors : request.dropped).push_back(u);
    }
    out.push_back(OutgoingMessage{.client = v, .bytes = Encode(request, params_)});
    cost.bytes_sent += out.back().bytes.size();
    clients_[v].request = std::move(request);
  }
  state_ = State::kUnmask;
  return out;
}

// ---- Stage 3 ----------------------------------------------------------

absl::Status ServerSession::CheckUnmaskResponse(uint32_t sender, const UnmaskResponse& m) const {
  if (m.client != sender) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: client ", sender, " answered as client ", m.client));
  }
  const Client& c = clients_[sender];
  if (!c.request.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: client ", sender, " was not asked to unmask"));
  }
  if (c.responded) return absl::FailedPreconditionError(absl::StrCat("secagg: client ", sender, " answered twice"));
  // The answer must be exactly what was asked: one share per named
  // neighbour, of the kind asked for (responses and lists are ascending).
  const UnmaskRequest& request = *c.request;
  if (m.shares.size() != request.survivors.size() + request.dropped.size()) {
    return absl::InvalidArgumentError(absl::StrCat("secagg: client ", sender, " revealed ", m.shares.size(),
                                                   " shares where ",
                                                   request.survivors.size() + request.dropped.size(), " were asked"));
  }
  for (const RevealedShare& s : m.shares) {
    const bool survivor = std::binary_search(request.survivors.begin(), request.survivors.end(), s.about);
    const bool dropped = std::binary_search(request.dropped.begin(), request.dropped.end(), s.about);
    if ((survivor && s.kind != ShareKind::kSelfMaskSeed) || (dropped && s.kind != ShareKind::kMaskKey) ||
        (!survivor && !dropped)) {
      return absl::InvalidArgumentError(
          absl::StrCat("secagg: client ", sender, " revealed a share of client ", s.about, " that was not asked for"));
    }
  }
  return absl::OkStatus();
}

absl::Status ServerSession::OnUnmaskResponse(uint32_t sender, absl::string_view bytes) {
  StageTimer timer(costs_.at(Stage::kUnmasking));
  FEDGE_ASSIGN_OR_RETURN(UnmaskResponse m,
                         Receive(State::kUnmask, Stage::kUnmasking, sender, bytes, DecodeUnmaskResponse));
  FEDGE_RETURN_IF_ERROR(CheckUnmaskResponse(sender, m));
  for (RevealedShare& s : m.shares) {
    Client& owner = clients_[s.about];
    ShamirShare share{.x = uint64_t{sender} + 1, .values = std::move(s.values)};
    (s.kind == ShareKind::kSelfMaskSeed ? owner.self_mask_seed_shares : owner.mask_key_shares)
        .push_back(std::move(share));
  }
  clients_[sender].responded = true;
  return absl::OkStatus();
}

absl::Status ServerSession::RemoveSelfMask(uint32_t u) {
  const std::vector<ShamirShare>& shares = clients_[u].self_mask_seed_shares;
  if (shares.size() < params_.threshold) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: only ", shares.size(), " neighbours of client ", u,
                                                      " revealed its self-mask share; ", params_.threshold,
                                                      " are needed"));
  }
  FEDGE_ASSIGN_OR_RETURN(std::string seed_bytes, ShamirReconstruct(shares, params_.threshold, kSelfMaskSeedBytes));
  internal::Seed seed;
  std::copy(seed_bytes.begin(), seed_bytes.end(), seed.begin());
  internal::AddMask(seed, params_.ring_bits, /*subtract=*/true, absl::MakeSpan(sum_));
  return absl::OkStatus();
}

absl::Status ServerSession::RemovePairwiseMasks(uint32_t dropped) {
  std::vector<uint32_t> survivors;  // neighbours whose input carries a mask shared with `dropped`
  for (uint32_t v : graph_.Neighbours(dropped)) {
    if (clients_[v].masked) survivors.push_back(v);
  }
  if (survivors.empty()) return absl::OkStatus();
  const std::vector<ShamirShare>& shares = clients_[dropped].mask_key_shares;
  if (shares.size() < params_.threshold) {
    return absl::FailedPreconditionError(absl::StrCat("secagg: only ", shares.size(), " neighbours of dropped client ",
                                                      dropped, " revealed its mask-key share; ", params_.threshold,
                                                      " are needed"));
  }
  FEDGE_ASSIGN_OR_RETURN(std::string key_bytes, ShamirReconstruct(shares, params_.threshold, kMaskKeyBytes));
  internal::Key32 private_key;
  std::copy(key_bytes.begin(), key_bytes.end(), private_key.begin());
  FEDGE_ASSIGN_OR_RETURN(internal::Key32 public_key, internal::X25519PublicKey(private_key));
  if (public_key != clients_[dropped].keys->mask_key) {
    return absl::DataLossError(absl::StrCat("secagg: the reconstructed mask key of client ", dropped,
                                            " does not match the key it advertised (corrupted shares)"));
  }
  for (uint32_t v : survivors) {
    FEDGE_ASSIGN_OR_RETURN(internal::Seed seed, internal::PairwiseMaskSeed(params_, private_key,
                                                                           clients_[v].keys->mask_key, dropped, v));
    // v added +PRG if v < dropped and -PRG otherwise; undo that.
    internal::AddMask(seed, params_.ring_bits, /*subtract=*/v < dropped, absl::MakeSpan(sum_));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecAggResult> ServerSession::Finish() {
  StageCost& cost = costs_.at(Stage::kUnmasking);
  StageTimer timer(cost);
  FEDGE_RETURN_IF_ERROR(BeginClose(State::kUnmask, [](const Client& c) { return c.responded; }, "unmasking"));
  SecAggResult result;
  for (uint32_t u = 0; u < params_.num_clients; ++u) {
    const Client& c = clients_[u];
    if (c.masked) {
      if (absl::Status s = RemoveSelfMask(u); !s.ok()) return Fail(s);
      result.contributors.push_back(u);
    } else if (c.shared) {
      if (absl::Status s = RemovePairwiseMasks(u); !s.ok()) return Fail(s);
    }
  }
  result.sum = std::move(sum_);
  sum_.clear();
  state_ = State::kDone;
  return result;
}

}  // namespace fedge::secagg
