// File: coordinator/secagg_round.h
//
// `SecAggRound`: the coordinator's side of one synchronous round run with
// secure aggregation ([secagg]; secagg/README.md for the protocol). It owns
// the round's `secagg::ServerSession` and turns the four protocol stages
// into round phases driven by the devices' SecAgg RPCs and the clock:
//
//   stage 0 advertise keys -> 1 share keys -> 2 masked input -> 3 unmasking
//
// The cohort is fixed when the round opens: the selected devices, in
// selection order, are clients 0..n-1. A stage closes as soon as every
// client still in the protocol (it took the previous stage's answer and
// none of its messages was refused) has sent its message, or at the stage's
// deadline (`stage_timeout` after it opened): whoever has not sent by then
// has dropped out. Closing the last stage unmasks the sum of the surviving
// devices' codes (int8 or int4, the round's `code_bits`), which becomes the
// round's aggregate: the unweighted
// mean of their clipped deltas, sum * scale / contributors. Fewer than t
// clients at any stage (or a secret that cannot be rebuilt) fails the
// round: nothing is revealed and the global model stays as it was.
//
// The shared scale: every device quantizes its clipped delta with the same
// step, scale = coordinate_range * clip_norm / sqrt(d) / max_code, so codes
// from different devices add up; max_code = 2^(code_bits-1) - 1 is 127 for
// int8 and 7 for int4 codes, and the ring has RingBitsFor(code_bits, n)
// bits so the sum never wraps (coordinator/README.md, "Secure aggregation").
//
// Thread-safety: not thread-safe; the Federation calls it under its lock.
// LibTorch-free.
#ifndef FEDGE_COORDINATOR_SECAGG_ROUND_H_
#define FEDGE_COORDINATOR_SECAGG_ROUND_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/fedge.pb.h"
#include "secagg/params.h"
#include "secagg/server_session.h"

namespace fedge {

// [secagg] as the Federation uses it (settings/secagg_settings.h reads it).
struct SecAggOptions {
  bool enabled = false;
  // k, even; 0 chooses 2 * ceil(log2 n). A cohort of at most k + 1 devices
  // uses the complete graph (the original SecAgg).
  uint32_t neighbours = 0;
  // t; 0 chooses k_eff / 2 + 1 (k_eff = min(k, n - 1)). A configured t is
  // capped at k_eff for a small cohort.
  uint32_t threshold = 0;
  // How long each stage waits for the devices still in it.
  absl::Duration stage_timeout = absl::Seconds(60);
  // Codes cover +-coordinate_range * clip_norm / sqrt(d) per coordinate;
  // larger coordinates are clamped.
  double coordinate_range = 4;
};

// kInvalidArgument naming the bad field.
absl::Status ValidateSecAggOptions(const SecAggOptions& options);
// Secure aggregation reveals only the sum, so it works with the strategies
// whose aggregate is a mean (fedavg, fedavgm, fedprox, fedadam, fedyogi,
// fedadagrad); kInvalidArgument for the robust ones, which need every update.
absl::Status CheckSecAggStrategy(std::string_view strategy_name);

// What one round's secure aggregation produced.
struct SecAggAggregate {
  std::vector<float> mean;  // the contributors' mean delta
  int64_t contributors = 0;
  std::vector<std::string> contributor_ids;
  std::vector<std::string> contributor_task_ids;
};

class SecAggRound {
 public:
  // `cohort`: the selected device ids in selection order (client i is
  // cohort[i]); `clip_norm` (> 0) the task's update clip norm; `d` the
  // model's element count; `code_bits` the width of the devices' codes, 8
  // or 4 (SecAggCodeBits of the run's codec, settings/secagg_settings.h);
  // `noise_stddev` the per-device distributed DP noise (0: none). A cohort
  // of fewer than 2 devices, an unsupported code width, or parameters the
  // protocol refuses, give a round that has already failed, saying why.
  SecAggRound(const SecAggOptions& options, uint64_t round, std::vector<std::string> cohort, uint64_t d,
              int code_bits, double clip_norm, double noise_stddev, uint64_t graph_seed, absl::Time now);

  // Adds the device's SecAggTask to `task` (and remembers its task id).
  // False when the device is not in the cohort.
  bool FillTask(const std::string& device_id, proto::Task& task);

  // One SecAgg RPC: takes the device's message for its stage (refused:
  // kInvalidArgument; the device is then out) and answers with the next
  // stage's message once its stage has closed, or a retry delay.
  // kPermissionDenied for a device outside the cohort or another task;
  // kFailedPrecondition once the device is out or the round failed.
  absl::StatusOr<proto::SecAggResponse> Handle(const proto::SecAggRequest& request, absl::Time now,
                                               absl::Duration retry_after);

  // Closes the current stage if its deadline has passed (Tick).
  void Advance(absl::Time now);
  // The protocol has finished (the sum is unmasked) or failed.
  bool ended() const { return stage_ > 3 || !failure_.ok(); }
  // The aggregate, or why the round failed. REQUIRES: called once.
  absl::StatusOr<SecAggAggregate> TakeAggregate();
  // The devices' share of the round in the record's metrics: per stage the
  // bytes received and sent, the coordinator's CPU milliseconds and the
  // stage's duration on the round's clock; the parameters and contributors.
  void AddToRecord(proto::RoundRecord& record) const;

  int stage() const { return stage_; }
  uint32_t num_clients() const { return static_cast<uint32_t>(cohort_.size()); }
  int code_bits() const { return code_bits_; }

 private:
  struct Client {
    std::string task_id;
    int sent = -1;       // the last stage whose message was taken
    bool out = false;    // a message was refused, or it missed a stage
    std::optional<std::string> answer[4];  // the coordinator's message after each stage
  };
  // Closes stage_ (quorum or deadline) and opens the next.
  void CloseStage(absl::Time now);
  bool QuorumReached() const;
  bool InStage(const Client& c) const;
  absl::Status Take(uint32_t client, absl::string_view bytes);
  void Fail(absl::Status why);

  secagg::SecAggParams params_;
  SecAggOptions options_;
  int code_bits_ = 8;
  double scale_ = 0;
  double clip_norm_ = 0;
  int64_t contributors_ = 0;
  double noise_stddev_ = 0;
  std::vector<std::string> cohort_;
  std::map<std::string, uint32_t> index_;
  std::vector<Client> clients_;
  std::unique_ptr<secagg::ServerSession> server_;
  int stage_ = 0;
  absl::Time stage_opened_;
  absl::Duration stage_time_[4] = {};
  absl::Status failure_;
  std::optional<secagg::SecAggResult> result_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_SECAGG_ROUND_H_
