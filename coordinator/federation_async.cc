// The Federation's asynchronous mode (FedBuff; federation.h, "Asynchronous
// mode"): opening buffers, serving the recent versions stale tasks train on,
// and the asynchronous parts of a server step's record. The upload path is
// the synchronous one (federation.cc); RoundState does the per-update
// staleness work.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/federation.h"
#include "coordinator/federation_impl.h"
#include "core/logging.h"

namespace fedge {

using federation_internal::ToMicros;

void Federation::Impl::OpenAsyncBuffer(std::map<std::string, RoundState::TaskState> carried) {
  if (!store_error.ok() || open || Finished() ||
      (RoundLimit() > 0 && static_cast<int64_t>(rounds_started) >= RoundLimit())) {
    return;  // the run is over: tasks still in training have nowhere to go
  }
  int64_t registered = 0;
  for (const auto& [id, entry] : devices) {
    registered += Registered(entry) && entry.status == proto::DEVICE_STATUS_ACTIVE;
  }
  if (registered < options.min_devices) return;
  const uint64_t round = ++rounds_started;
  proto::TrainConfig train = options.train;
  if (train.codec().empty()) train.set_codec("fp32");
  strategy->ConfigureTrain(round, train);
  const absl::Time now = clock->Now();
  const int64_t target = options.async.buffer_size;
  if (options.store != nullptr) {
    StoredOpenRound stored{.round = round,
                           .model_version = version,
                           .target = target,
                           .opened_unix_micros = ToMicros(now),
                           .deadline_unix_micros = ToMicros(absl::InfiniteFuture()),
                           .selected = {},
                           .train = train};
    if (absl::Status saved = options.store->OpenRound(stored, Counters()); !saved.ok()) {
      FEDGE_LOG(ERROR) << "buffer " << round << " not opened: cannot store it (" << saved.message()
                       << "); retrying at the next tick";
      --rounds_started;
      return;
    }
  }
  open.emplace(RoundOptions(round, target, std::move(train), now, absl::InfiniteFuture()),
               std::vector<std::string>{}, BeginAggregation(target));
  open->record().set_drift_alarms(std::exchange(drift_alarms_between_rounds, 0));
  const size_t adopted = carried.size();
  open->AdoptTasks(std::move(carried));
  FEDGE_LOG(INFO) << "buffer " << round << ": open on global version " << version << " for " << target
                  << " updates (" << adopted << " tasks still in training)";
}

void Federation::Impl::FillAsyncRecord(const RoundState& buffer, proto::RoundRecord& record) {
  // Tasks are not sampled: "selected" counts the tasks this buffer issued,
  // and a task still in training is carried over, not late.
  record.set_selected(buffer.issued_here());
  record.set_late(0);
  auto& metrics = *record.mutable_metrics();
  if (record.accepted() > 0) {
    metrics["staleness_mean"] = buffer.staleness_sum() / static_cast<double>(record.accepted());
    metrics["staleness_max"] = static_cast<double>(buffer.staleness_max());
  }
}

void Federation::Impl::KeepServedModel() {
  recent_models[version] = signed_model;
  // Beyond the bound an update is refused anyway: its model is not needed.
  const uint64_t bound = static_cast<uint64_t>(options.async.staleness.max_staleness);
  while (!recent_models.empty() && recent_models.begin()->first + bound < version + 1) {
    recent_models.erase(recent_models.begin());
  }
}

const std::string* Federation::Impl::ServedModel(uint64_t requested) const {
  if (requested == version) return &signed_model;
  auto it = recent_models.find(requested);
  return it == recent_models.end() ? nullptr : &it->second;
}

absl::Status Federation::Impl::CheckNotSuperseded(const proto::UploadRequest& request) const {
  const std::optional<uint64_t> base = RoundState::AsyncTaskBaseVersion(request.task_id(), request.device_id());
  auto device = devices.find(request.device_id());
  if (!base || device == devices.end() || *base > device->second.training_version) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "task '", request.task_id(), "' of device '", request.device_id(), "' is final: an update of this device "
      "trained on global version ", device->second.training_version,
      " was accepted since; a re-sent update is never counted twice"));
}

}  // namespace fedge
