// The Federation's side of the staged rollout (coordinator/rollout.h): which
// deployed version each device is told, the artifacts those versions need,
// and the rollout's durability. Shared by fedge-coordinator and fedge-sim.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "coordinator/federation.h"
#include "coordinator/federation_impl.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {
namespace {

std::vector<std::string> DeviceIds(const std::map<std::string, federation_internal::DeviceEntry>& devices) {
  std::vector<std::string> ids;
  ids.reserve(devices.size());
  for (const auto& [id, entry] : devices) {
    if (entry.status != proto::DEVICE_STATUS_REVOKED) ids.push_back(id);
  }
  return ids;
}

}  // namespace

uint64_t Federation::Impl::DeployedVersionFor(const std::string& device_id) const {
  // With a rollout, a deployment published but not started yet (Deploy
  // publishes it before the same Tick's DriveRollout) is not told to anyone.
  return rollout ? rollout->VersionFor(device_id) : deployed.version();
}

const std::string* Federation::Impl::DeployedArtifact(uint64_t v) const {
  if (v == 0) return nullptr;
  if (v == deployed.version()) return &deployed.artifact();
  auto it = rollout_artifacts.find(v);
  return it == rollout_artifacts.end() ? nullptr : &it->second;
}

void Federation::Impl::NoteRolloutEvent(std::string event) {
  FEDGE_LOG(INFO) << event;
  rollout_events.push_back(std::move(event));
  if (options.store == nullptr) return;
  if (absl::Status saved = options.store->SaveRollout(rollout->ToStored().SerializeAsString()); !saved.ok()) {
    FEDGE_LOG(ERROR) << "could not store the rollout's state (it continues in memory): " << saved;
  }
}

void Federation::Impl::DriveRollout() {
  if (!rollout) return;
  const std::vector<std::string> ids = DeviceIds(devices);
  const absl::Time now = clock->Now();
  // A deployment made while a rollout ran waited for it; it starts from what
  // the fleet serves now, as soon as that rollout ends (same tick, so the
  // fleet is never without an active rollout in between).
  const auto start_waiting = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (rollout->active() || deployed.version() <= rollout->version()) return;
    const uint64_t previous = rollout->stable_version();
    std::map<uint64_t, std::string> keep;
    if (const std::string* bytes = DeployedArtifact(previous); bytes != nullptr) keep[previous] = *bytes;
    keep[deployed.version()] = deployed.artifact();
    rollout_artifacts = std::move(keep);
    int64_t drifting = 0;
    for (const auto& [id, entry] : devices) drifting += entry.drift.drifting();
    const double baseline = ids.empty() ? 0 : static_cast<double>(drifting) / static_cast<double>(ids.size());
    rollout->Start(deployed.version(), previous, baseline, ids, now);
    NoteRolloutEvent(rollout->Status().reason());
  };
  start_waiting();
  if (std::optional<std::string> event = rollout->Evaluate(ids, now)) {
    NoteRolloutEvent(*std::move(event));
    start_waiting();
  }
}

void Federation::Impl::ObserveForRollout(const proto::DeviceReport& report) {
  if (!rollout) return;
  RolloutSample sample;
  sample.serving = report.inference_model_version();
  sample.health = report.model_health();
  auto metric = [&](const char* name) {
    auto it = report.metrics().find(name);
    return it == report.metrics().end() ? 0.0 : it->second;
  };
  sample.inference_requests = metric("inference_requests");
  sample.inference_errors = metric("inference_errors");
  sample.drift_alarm = report.alarms_size() > 0;
  rollout->Observe(report.device_id(), sample);
}

void Federation::Impl::AddRolloutMetrics(proto::RoundRecord& record) {
  if (!rollout) return;
  const proto::RolloutStatus status = rollout->Status();
  auto& m = *record.mutable_metrics();
  m["rollout_state"] = status.state();
  m["rollout_stage"] = status.state() == proto::ROLLOUT_NONE ? 0 : status.stage() + 1;
  m["rollout_version"] = static_cast<double>(status.version());
  int advanced = 0, aborted = 0;
  for (const std::string& e : rollout_events) {
    advanced += absl::StrContains(e, "advanced") || absl::StrContains(e, "completed");
    aborted += absl::StrContains(e, "aborted");
  }
  int64_t serving_new = 0, serving_previous = 0, serving_other = 0;
  for (const auto& [id, entry] : devices) {
    if (entry.inference_version == 0) continue;
    if (entry.inference_version == status.version()) {
      ++serving_new;
    } else if (entry.inference_version == status.previous_version()) {
      ++serving_previous;
    } else {
      ++serving_other;
    }
  }
  m["rollout_serving_version"] = static_cast<double>(serving_new);
  m["rollout_serving_previous"] = static_cast<double>(serving_previous);
  m["rollout_serving_other"] = static_cast<double>(serving_other);
  m["rollout_advanced"] = advanced;
  m["rollout_aborted"] = aborted;
  rollout_events.clear();
}

absl::Status Federation::Impl::ResumeRollout(const std::string& record) {
  if (!rollout || record.empty()) return absl::OkStatus();
  proto::StoredRollout stored;
  if (!stored.ParseFromString(record)) {
    return absl::DataLossError("the stored rollout record does not parse; restore the state directory from a backup");
  }
  FEDGE_RETURN_IF_ERROR(rollout->Restore(stored));
  for (uint64_t v : {rollout->previous_version(), rollout->version()}) {
    if (v == 0 || v == deployed.version()) continue;
    FEDGE_ASSIGN_OR_RETURN(std::optional<StoredDeployment> d, options.store->LoadDeployment(v));
    if (!d) {
      return absl::DataLossError(absl::StrCat("the rollout serves deployed model version ", v,
                                              ", which is not in the store; restore the state directory from a "
                                              "backup"));
    }
    rollout_artifacts[v] = std::move(d->artifact);
  }
  FEDGE_LOG(INFO) << "resumed the rollout of deployed model v" << rollout->version() << ": "
                  << proto::RolloutState_Name(rollout->Status().state()) << ", stage " << rollout->Status().stage() + 1;
  return absl::OkStatus();
}

proto::RolloutStatus Federation::GetRollout() const {
  absl::MutexLock lock(&impl_->mu);
  if (impl_->rollout) return impl_->rollout->Status();
  proto::RolloutStatus status;
  status.set_version(impl_->deployed.version());
  status.set_reason("staged rollout is off ([rollout] enabled = false): every device gets each deployment at once");
  return status;
}

absl::StatusOr<proto::RolloutStatus> Federation::ControlRollout(proto::RolloutControlRequest::Action action) {
  absl::MutexLock lock(&impl_->mu);
  if (!impl_->rollout) {
    return absl::FailedPreconditionError("staged rollout is off: enable it with a [rollout] table in the config");
  }
  FEDGE_ASSIGN_OR_RETURN(std::string event,
                         impl_->rollout->Control(action, DeviceIds(impl_->devices), impl_->clock->Now()));
  impl_->NoteRolloutEvent(absl::StrCat(event, " (operator)"));
  return impl_->rollout->Status();
}

}  // namespace fedge
