// File: secagg/client_session.h
//
// One client's side of a secure-aggregation round (SecAgg+), as a state
// machine driven by the server's messages. Transport-agnostic: every method
// takes the encoded bytes the server sent and returns the encoded reply.
//
//   Advertise()          -> AdvertiseKeys                 (stage 0)
//   OnKeyDirectory(b)    -> ShareKeys                     (stage 1)
//   OnShareBundle(b, x)  -> MaskedInput of x              (stage 2)
//   OnUnmaskRequest(b)   -> UnmaskResponse                (stage 3)
//
// The methods must be called once each, in that order. Any error (a hostile
// or malformed server message, a request that would reveal both secrets of
// a neighbour, fewer than t neighbours) aborts the session for good: every
// later call returns kFailedPrecondition and nothing more is revealed.
// Secrets (private keys, the self-mask seed, received shares) stay in memory
// and are never serialised.
//
// Thread-safety: thread-compatible (one thread at a time).
#ifndef FEDGE_SECAGG_CLIENT_SESSION_H_
#define FEDGE_SECAGG_CLIENT_SESSION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "secagg/costs.h"
#include "secagg/graph.h"
#include "secagg/messages.h"
#include "secagg/params.h"
#include "secagg/random.h"
#include "secagg/shamir.h"

namespace fedge::secagg {

struct ClientSecrets;  // client_session.cc

class ClientSession {
 public:
  ~ClientSession();
  // kInvalidArgument for invalid params or client_id >= num_clients.
  // `random` (keys, seeds, Shamir coefficients, nonces) must outlive the
  // session; use SystemRandom() outside tests.
  static absl::StatusOr<std::unique_ptr<ClientSession>> Create(const SecAggParams& params, uint32_t client_id,
                                                               Randomness& random);

  absl::StatusOr<std::string> Advertise();
  absl::StatusOr<std::string> OnKeyDirectory(absl::string_view bytes);
  // `input`: vector_length elements, each < 2^ring_bits (kInvalidArgument
  // otherwise, without aborting the session).
  absl::StatusOr<std::string> OnShareBundle(absl::string_view bytes, absl::Span<const uint64_t> input);
  absl::StatusOr<std::string> OnUnmaskRequest(absl::string_view bytes);

  uint32_t id() const { return id_; }
  bool aborted() const { return state_ == State::kAborted; }
  const SessionCosts& costs() const { return costs_; }

 private:
  enum class State { kAdvertise, kShareKeys, kMaskedInput, kUnmask, kDone, kAborted };
  ClientSession(const SecAggParams& params, uint32_t id, Randomness& random);
  absl::Status Expect(State state) const;
  // Runs one stage: checks the state, times `body` and counts its bytes,
  // moves to `next` on success and aborts the session on error.
  absl::StatusOr<std::string> RunStage(State expected, Stage stage, size_t bytes_received, State next,
                                       absl::FunctionRef<absl::StatusOr<std::string>()> body);

  absl::StatusOr<std::string> ShareKeysFor(const KeyDirectory& directory);
  absl::StatusOr<std::string> SealShares(uint32_t peer, const ShamirShare& seed, const ShamirShare& key);
  absl::StatusOr<std::string> MaskInput(const ShareBundle& bundle, absl::Span<const uint64_t> input);
  absl::StatusOr<std::string> Reveal(const UnmaskRequest& request);

  SecAggParams params_;
  uint32_t id_ = 0;
  Randomness& random_;
  NeighbourGraph graph_;
  State state_ = State::kAdvertise;
  std::map<uint32_t, NeighbourKeys> directory_;  // neighbours that advertised
  // Private keys, the self-mask seed and the shares held for neighbours;
  // wiped when the session ends or aborts.
  std::unique_ptr<ClientSecrets> secrets_;
  SessionCosts costs_;
};

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_CLIENT_SESSION_H_
