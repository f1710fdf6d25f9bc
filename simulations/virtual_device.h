// File: simulations/virtual_device.h
//
// The pieces that turn the real device agent (client/device.h) into a
// simulated one, without forking its logic:
//
//  * `DeviceProfile`: the cheap record kept for every device of the
//    population — id, data shard, and its heterogeneity draws (compute
//    speed, link bandwidths, latency). Tens of thousands cost little.
//  * `SimLink`: the device's `Transport`. It forwards every call to the
//    coordinator's `Federation` in-process, and charges each transfer to
//    the device's own virtual clock: the first chunk of a transfer pays the
//    one-way latency, every chunk pays bytes / bandwidth. An upload chunk
//    reaches the coordinator with the coordinator's clock moved to the
//    chunk's arrival, so the device gets the coordinator's real verdict;
//    the simulator makes the devices upload one at a time in arrival order
//    (Device::PrepareStep / FinishStep), so the aggregate does not depend
//    on which worker thread finished training first. A chunk that would
//    arrive after the round deadline is refused at once with
//    kFailedPrecondition, as the coordinator refuses late updates.
//  * `SimTrainer`: wraps the real `Trainer`, advances the device clock by
//    examples * epochs / compute_speed, and makes the device fail the task
//    without training when it drops out or would finish after the round
//    deadline (the update then never reaches the coordinator).
//
// LibTorch-free. Thread-safety: a SimLink and a SimTrainer belong to one
// device and are used from the thread that runs it.
#ifndef FEDGE_SIMULATIONS_VIRTUAL_DEVICE_H_
#define FEDGE_SIMULATIONS_VIRTUAL_DEVICE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/trainer.h"
#include "core/env.h"
#include "core/transport.h"
#include "simulations/partition.h"
#include "simulations/scenario.h"

namespace fedge {

struct DeviceProfile {
  std::string id;
  std::vector<int64_t> examples;  // indices into the training set
  double compute_speed = 1;       // examples per second
  double bytes_per_s_up = 1;
  double bytes_per_s_down = 1;
  absl::Duration latency;
  uint64_t seed = 0;  // the device agent's seed (training, backoff jitter)
};

// Draws one profile per shard from the scenario's device distributions,
// deterministically from scenario.seed. Ids are "dev-" plus the index,
// zero-padded so that they sort in index order.
std::vector<DeviceProfile> MakePopulation(const Scenario& scenario, Partition shards);

// What happens to a sampled device in one round, drawn from
// (seed, round, device) so it does not depend on scheduling.
struct RoundFate {
  bool online = true;      // takes the task at all
  bool drops_out = false;  // fails after downloading, before uploading
};
RoundFate DrawFate(const Scenario& scenario, uint64_t round, const std::string& device_id);
// Whether the device loses its link at secure-aggregation `stage` of
// `round` (probability devices.secagg_dropout), drawn from (seed, round,
// device, stage) alone.
bool DrawSecAggDropout(const Scenario& scenario, uint64_t round, const std::string& device_id, int stage);

class SimLink final : public Transport {
 public:
  // `coordinator`, `coordinator_clock`, `clock` and `profile` are borrowed;
  // `clock` is this device's own virtual clock, `coordinator_clock` the
  // Federation's; `deadline` closes the round on them.
  SimLink(Transport* coordinator, FakeClock* coordinator_clock, FakeClock* clock, const DeviceProfile& profile,
          absl::Time deadline);

  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override;
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override;
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override;
  // Charges the chunk's transfer, then hands it to the coordinator with
  // the coordinator's clock at its arrival (never moved back). REQUIRES:
  // uploads of a round's devices are made one at a time, in arrival order.
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override;
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override;
  // Secure aggregation's messages go straight to the coordinator, on its
  // clock (simulations/README.md: the simulator moves time between stages);
  // kUnavailable once the link is cut.
  absl::StatusOr<proto::SecAggResponse> SecAgg(const proto::SecAggRequest& request) override;
  // Loses the link for good (a device dropping out of secure aggregation).
  void Cut() { cut_ = true; }
  bool cut() const { return cut_; }

  // When an update of `bytes` sent now in chunks of at most `chunk_bytes`
  // would arrive: what Upload will charge for it.
  absl::Time ArrivalIfSentNow(uint64_t bytes, uint32_t chunk_bytes) const;
  // True when an upload was refused for arriving after the deadline.
  bool refused_late() const { return refused_late_; }

 private:
  Transport* const coordinator_;
  FakeClock* const coordinator_clock_;
  FakeClock* const clock_;
  const DeviceProfile& profile_;
  const absl::Time deadline_;
  bool refused_late_ = false;
  bool cut_ = false;
};

// Everything but Train is the inner trainer's (so the device's privacy
// ledger is consulted with the inner trainer's plan).
class SimTrainer final : public TrainerDecorator {
 public:
  // `inner` and `clock` are borrowed. `deadline` is the round's close on
  // the simulated clock.
  SimTrainer(Trainer* inner, FakeClock* clock, double compute_speed, bool drops_out, absl::Time deadline);

  // kUnavailable for a simulated dropout, kDeadlineExceeded when training
  // would end after the deadline (neither trains); otherwise the inner
  // trainer's result, with the clock advanced by the training time.
  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                    uint64_t seed) override;
  // True when Train failed for a simulated reason (dropout or deadline).
  bool simulated_failure() const { return simulated_failure_; }

 private:
  FakeClock* const clock_;
  const double compute_speed_;
  const bool drops_out_;
  const absl::Time deadline_;
  bool simulated_failure_ = false;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_VIRTUAL_DEVICE_H_
