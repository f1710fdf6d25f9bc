// File: coordinator/timed_state_store.h
//
// `TimedStateStore` is a StateStore that forwards every call to another one
// and records how long each write took in the Prometheus histogram
// `fedge_store_write_seconds{op}` (op: append_updates, open_round,
// close_round, complete_round, save_devices, save_deployment, save_rollout,
// save_initial_model, start_run). An acknowledgement waits for
// `append_updates` (group commit), so its latency is what devices feel; a
// slow or failing disk shows there first. Reads (Load, ReadRunConfig) run
// once at start-up, LoadDeployment when a rollout goes back a version; they
// are not timed.
//
// Usage (fedge-coordinator with --state and --metrics-listen):
//   TimedStateStore timed(sqlite_store.get(), &registry, Clock::Real());
//   federation_options.store = &timed;
//
// Ownership: the inner store, the registry and the clock are borrowed and
// must outlive this. Thread-safety: as the inner store (the histogram is
// thread-safe).
#ifndef FEDGE_COORDINATOR_TIMED_STATE_STORE_H_
#define FEDGE_COORDINATOR_TIMED_STATE_STORE_H_

#include "coordinator/store/state_store.h"
#include "core/env.h"
#include "metrics/registry.h"

namespace fedge {

class TimedStateStore final : public StateStore {
 public:
  TimedStateStore(StateStore* inner, metrics::Registry* registry, Clock* clock);

  absl::StatusOr<std::optional<RunConfig>> ReadRunConfig() override { return inner_->ReadRunConfig(); }
  absl::StatusOr<StoredState> Load() override { return inner_->Load(); }
  absl::StatusOr<std::optional<StoredDeployment>> LoadDeployment(uint64_t version) override {
    return inner_->LoadDeployment(version);
  }
  absl::Status StartRun(const RunConfig& config) override;
  absl::Status SaveInitialModel(const StoredModel& model) override;
  absl::Status SaveDevices(const std::vector<StoredDevice>& devices) override;
  absl::Status OpenRound(const StoredOpenRound& round, const RunCounters& counters) override;
  absl::Status AppendUpdates(const AckBatch& batch) override;
  absl::Status CloseRound(const RoundClosure& closure) override;
  absl::Status CompleteRound(const proto::RoundRecord& record, const RunCounters& counters) override;
  absl::Status SaveDeployment(const StoredDeployment& deployment) override;
  absl::Status SaveRollout(const std::string& record) override;

 private:
  // Runs `write` and records its duration under `op`.
  template <typename Write>
  absl::Status Timed(const char* op, Write write);

  StateStore* const inner_;
  metrics::Family<metrics::Histogram>& seconds_;
  Clock* const clock_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_TIMED_STATE_STORE_H_
