// File: client/secagg_exchange.h
//
// A device's part in a secure-aggregation round (coordinator/secagg_round.h,
// secagg/README.md): `SecAggExchange` drives a `secagg::ClientSession`
// through the four stages over the device's `Transport` (the SecAgg RPC),
// one call at a time, so the same code runs on a device (Device::RunOnce
// sleeps between calls) and in fedge-sim (the simulator interleaves the
// calls of a whole cohort on virtual time).
//
// The device's input is its clipped delta quantized on the round's shared
// scale to the task's code width, int8 or int4 (QuantizeOnSharedScale); only
// the masked vector leaves the device.
//
// Thread-safety: thread-compatible (the Device drives it from one thread).
// LibTorch-free.
#ifndef FEDGE_CLIENT_SECAGG_EXCHANGE_H_
#define FEDGE_CLIENT_SECAGG_EXCHANGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "core/random.h"
#include "core/transport.h"
#include "proto/fedge.pb.h"
#include "secagg/client_session.h"
#include "secagg/costs.h"

namespace fedge {

// The code width a secure-aggregation task asks for: its code_bits, 8 when
// 0 (a coordinator that predates the field). kInvalidArgument for any width
// but 8 and 4: the device refuses the task rather than send codes the
// coordinator would decode with another width.
absl::StatusOr<int> SecAggTaskCodeBits(const proto::SecAggTask& task);

// The `code_bits`-bit codes (8 or 4) of `delta` on the shared step `scale`
// (> 0): each coordinate is clamped to +-max_code * scale, max_code =
// 2^(code_bits-1) - 1 (127 or 7), and stochastically rounded (unbiased
// inside the range), with `rng` (the task's seeded stream). REQUIRES:
// code_bits is 8 or 4 (as SecAggTaskCodeBits returns).
std::vector<int8_t> QuantizeOnSharedScale(absl::Span<const float> delta, double scale, int code_bits,
                                          SeededRandom& rng);

class SecAggExchange {
 public:
  // kInvalidArgument when the task's SecAggTask is not a valid round for a
  // vector of `codes.size()` elements (an unsupported code width, a ring too
  // small for the sum of the cohort's codes) or a code is outside the
  // task's width. The session's secrets come from the system CSPRNG.
  static absl::StatusOr<std::unique_ptr<SecAggExchange>> Start(const proto::Task& task, std::string device_id,
                                                               absl::Span<const int8_t> codes);

  // Where the exchange stands after a Step.
  struct Progress {
    bool done = false;                      // the device's part is over (the unmasking answer was taken)
    absl::Duration retry_after = absl::ZeroDuration();  // not done: call Step again after this
  };
  // One SecAgg call: sends the current stage's message (or asks again for
  // the coordinator's answer) and, when the stage has closed, computes the
  // next message at once. The transport's error as is (transient ones may
  // be retried by calling Step again); kFailedPrecondition once the device
  // is out of the round; a session error aborts the exchange for good.
  absl::StatusOr<Progress> Step(Transport& transport);

  // The protocol stage the device is in (4 once done).
  int stage() const { return stage_; }
  const secagg::SessionCosts& costs() const { return session_->costs(); }

 private:
  SecAggExchange(const proto::Task& task, std::string device_id, std::unique_ptr<secagg::ClientSession> session,
                 std::vector<uint64_t> input);
  // The client's message for the stage following the coordinator's `answer`.
  absl::StatusOr<std::string> Respond(const std::string& answer);

  std::string device_id_;
  std::string task_id_;
  std::unique_ptr<secagg::ClientSession> session_;
  std::vector<uint64_t> input_;  // the codes in the ring, wiped once masked
  int stage_ = 0;
  std::string outgoing_;  // the current stage's message
  bool sent_ = false;     // outgoing_ was taken by the coordinator
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_SECAGG_EXCHANGE_H_
