#include "coordinator/timed_state_store.h"

namespace fedge {
namespace {

// From a page-cache write (tens of microseconds) to a disk in trouble.
const std::vector<double> kWriteSecondsBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   1};

}  // namespace

TimedStateStore::TimedStateStore(StateStore* inner, metrics::Registry* registry, Clock* clock)
    : inner_(inner),
      seconds_(registry->AddHistogram("fedge_store_write_seconds",
                                      "Time of each write to the coordinator's state store, by operation "
                                      "(append_updates: a batch of acknowledgements, which waits for it).",
                                      kWriteSecondsBounds, {"op"})),
      clock_(clock) {}

template <typename Write>
absl::Status TimedStateStore::Timed(const char* op, Write write) {
  const absl::Time start = clock_->Now();
  absl::Status status = write();
  seconds_.WithLabels({op}).Observe(absl::ToDoubleSeconds(clock_->Now() - start));
  return status;
}

absl::Status TimedStateStore::StartRun(const RunConfig& config) {
  return Timed("start_run", [&] { return inner_->StartRun(config); });
}

absl::Status TimedStateStore::SaveInitialModel(const StoredModel& model) {
  return Timed("save_initial_model", [&] { return inner_->SaveInitialModel(model); });
}

absl::Status TimedStateStore::SaveDevices(const std::vector<StoredDevice>& devices) {
  return Timed("save_devices", [&] { return inner_->SaveDevices(devices); });
}

absl::Status TimedStateStore::OpenRound(const StoredOpenRound& round, const RunCounters& counters) {
  return Timed("open_round", [&] { return inner_->OpenRound(round, counters); });
}

absl::Status TimedStateStore::AppendUpdates(const AckBatch& batch) {
  return Timed("append_updates", [&] { return inner_->AppendUpdates(batch); });
}

absl::Status TimedStateStore::CloseRound(const RoundClosure& closure) {
  return Timed("close_round", [&] { return inner_->CloseRound(closure); });
}

absl::Status TimedStateStore::CompleteRound(const proto::RoundRecord& record, const RunCounters& counters) {
  return Timed("complete_round", [&] { return inner_->CompleteRound(record, counters); });
}

absl::Status TimedStateStore::SaveDeployment(const StoredDeployment& deployment) {
  return Timed("save_deployment", [&] { return inner_->SaveDeployment(deployment); });
}

absl::Status TimedStateStore::SaveRollout(const std::string& record) {
  return Timed("save_rollout", [&] { return inner_->SaveRollout(record); });
}

}  // namespace fedge
