// File: secagg/server_session.h
//
// The server's side of a secure-aggregation round (SecAgg+): it relays keys
// and encrypted shares between clients, sums the masked inputs, and removes
// the masks with the shares survivors reveal, learning only the sum of the
// inputs of the clients that completed stage 2. Transport-agnostic: `On*`
// take the bytes a client sent (with the sender id the transport
// authenticated), `Close*` end a stage and return the messages to send.
//
//   OnAdvertiseKeys* -> CloseAdvertise()   -> KeyDirectory per client
//   OnShareKeys*     -> CloseShares()      -> ShareBundle per client
//   OnMaskedInput*   -> CloseMaskedInput() -> UnmaskRequest per client
//   OnUnmaskResponse*-> Finish()           -> the sum
//
// A message that is malformed, late, repeated or from the wrong sender is
// rejected with a status (kInvalidArgument / kFailedPrecondition) and
// ignored: that client counts as dropped. When a stage closes with fewer
// than t clients, or a secret cannot be reconstructed from t shares, the
// session fails with kFailedPrecondition, sends nothing more and produces
// no sum; every later call returns kFailedPrecondition.
//
// Cost: O(n k) messages and shares, O(d) memory for the running sum, and
// O((n + dropped·k) · d) PRG work in Finish — O(n log n + n d) for k = O(log n).
//
// Thread-safety: thread-compatible (one thread at a time; the transport
// serialises calls).
#ifndef FEDGE_SECAGG_SERVER_SESSION_H_
#define FEDGE_SECAGG_SERVER_SESSION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "secagg/costs.h"
#include "secagg/graph.h"
#include "secagg/messages.h"
#include "secagg/params.h"
#include "secagg/shamir.h"

namespace fedge::secagg {

struct OutgoingMessage {
  uint32_t client = 0;
  std::string bytes;
};

struct SecAggResult {
  std::vector<uint64_t> sum;          // sum of the contributors' inputs mod 2^ring_bits
  std::vector<uint32_t> contributors;  // clients whose input is in the sum, ascending
};

class ServerSession {
 public:
  // kInvalidArgument for invalid params.
  static absl::StatusOr<std::unique_ptr<ServerSession>> Create(const SecAggParams& params);

  absl::Status OnAdvertiseKeys(uint32_t sender, absl::string_view bytes);
  absl::StatusOr<std::vector<OutgoingMessage>> CloseAdvertise();
  absl::Status OnShareKeys(uint32_t sender, absl::string_view bytes);
  absl::StatusOr<std::vector<OutgoingMessage>> CloseShares();
  absl::Status OnMaskedInput(uint32_t sender, absl::string_view bytes);
  absl::StatusOr<std::vector<OutgoingMessage>> CloseMaskedInput();
  absl::Status OnUnmaskResponse(uint32_t sender, absl::string_view bytes);
  absl::StatusOr<SecAggResult> Finish();

  bool failed() const { return state_ == State::kFailed; }
  const SessionCosts& costs() const { return costs_; }
  const SecAggParams& params() const { return params_; }

 private:
  enum class State { kAdvertise, kShareKeys, kMaskedInput, kUnmask, kDone, kFailed };
  struct Client {
    std::optional<AdvertiseKeys> keys;                  // stage 0 done
    bool shared = false;                                // stage 1 done
    bool masked = false;                                // stage 2 done
    std::optional<UnmaskRequest> request;               // what we asked it
    bool responded = false;                             // stage 3 done
    std::vector<EncryptedShare> inbox;                  // sealed shares for it (peer = sender)
    std::vector<ShamirShare> self_mask_seed_shares;     // revealed by its neighbours
    std::vector<ShamirShare> mask_key_shares;
  };

  explicit ServerSession(const SecAggParams& params);
  absl::Status Expect(State state, uint32_t sender) const;
  absl::Status Fail(absl::Status status);
  // The message a client sent in `state`, decoded; counts its bytes.
  template <typename T>
  absl::StatusOr<T> Receive(State state, Stage stage, uint32_t sender, absl::string_view bytes,
                            absl::StatusOr<T> (*decode)(absl::string_view, const SecAggParams&));
  // Checks the session is in `state` and fails the round (kFailedPrecondition)
  // when fewer than t clients satisfy `done`.
  absl::Status BeginClose(State state, bool (*done)(const Client&), const char* stage);
  absl::Status CheckShareKeys(uint32_t sender, const ShareKeys& m) const;
  absl::Status CheckUnmaskResponse(uint32_t sender, const UnmaskResponse& m) const;
  absl::Status RemoveSelfMask(uint32_t u);
  absl::Status RemovePairwiseMasks(uint32_t dropped);

  SecAggParams params_;
  NeighbourGraph graph_;
  State state_ = State::kAdvertise;
  std::vector<Client> clients_;
  std::vector<uint64_t> sum_;
  SessionCosts costs_;
};

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_SERVER_SESSION_H_
