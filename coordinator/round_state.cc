#include "coordinator/round_state.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "compression/codec.h"
#include "core/status.h"
#include "core/strings.h"
#include "core/transport.h"
#include "proto/state.pb.h"

namespace fedge {
namespace {

// An encoded update may exceed 4 bytes per element (sparse indices, block
// scales, protobuf framing) but never by much more than 2x; anything larger
// is refused before it is buffered.
uint64_t MaxUploadBytes(int64_t num_elements) { return 8 * static_cast<uint64_t>(num_elements) + (64 << 10); }

std::string TaskId(uint64_t round, const std::string& device_id) { return absl::StrCat("r", round, "-", device_id); }

// An asynchronous task names the buffer that issued it and its base
// version, so a restarted coordinator can take its upload.
std::string AsyncTaskId(uint64_t round, uint64_t version, const std::string& device_id) {
  return absl::StrCat("a", round, "-v", version, "-", device_id);
}

// Parses AsyncTaskId; false when `id` is not of its form for `device_id`.
bool ParseAsyncTaskId(std::string_view id, const std::string& device_id, uint64_t* round, uint64_t* version) {
  const std::string suffix = absl::StrCat("-", device_id);
  if (id.size() <= suffix.size() + 3 || id[0] != 'a' || !id.ends_with(suffix)) return false;
  const std::string_view head = id.substr(1, id.size() - suffix.size() - 1);  // "<round>-v<version>"
  const size_t dash = head.find("-v");
  if (dash == std::string_view::npos) return false;
  return absl::SimpleAtoi(AsAbsl(head.substr(0, dash)), round) &&
         absl::SimpleAtoi(AsAbsl(head.substr(dash + 2)), version);
}

// The same status with `who` (naming the device) in front of its message.
absl::Status Prefixed(std::string_view who, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(AsAbsl(who), status.message()));
}

}  // namespace

std::optional<uint64_t> RoundState::AsyncTaskBaseVersion(std::string_view task_id, const std::string& device_id) {
  uint64_t round = 0, version = 0;
  if (!ParseAsyncTaskId(task_id, device_id, &round, &version)) return std::nullopt;
  return version;
}

RoundState::RoundState(Options options, std::vector<std::string> selected,
                       std::unique_ptr<RoundAggregator> aggregator)
    : options_(std::move(options)), selected_(std::move(selected)), aggregator_(std::move(aggregator)) {
  for (const std::string& id : selected_) is_selected_[id] = true;
  checkpoints_ = aggregator_->SaveState().has_value();
  record_.set_round(options_.round);
  record_.set_selected(selected_.size());
  record_.set_started_unix_micros(absl::ToUnixMicros(options_.opened));
  if (checkpoints_) stored_progress_ = SaveProgress();
}

const proto::Task* RoundState::IssueTask(const std::string& device_id) {
  if (options_.async) return IssueAsyncTask(device_id);
  if (!is_selected_.contains(device_id)) return nullptr;
  const std::string id = TaskId(options_.round, device_id);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    TaskState state{.device_id = device_id,
                    .task = proto::Task(),
                    .upload = UploadBuffer(MaxUploadBytes(options_.num_elements))};
    proto::Task& task = state.task;
    task.set_round(options_.round);
    task.set_task_id(id);
    task.set_model_version(options_.model_version);
    task.set_architecture(options_.architecture);
    *task.mutable_train() = options_.train;
    task.set_deadline_unix_micros(absl::ToUnixMicros(options_.deadline));
    it = tasks_.emplace(id, std::move(state)).first;
  }
  return it->second.committed ? nullptr : &it->second.task;
}

RoundState::TaskState& RoundState::AddTask(const std::string& device_id, uint64_t round, uint64_t version,
                                           const std::string& id) {
  TaskState state{.device_id = device_id,
                  .task = proto::Task(),
                  .upload = UploadBuffer(MaxUploadBytes(options_.num_elements))};
  proto::Task& task = state.task;
  task.set_round(round);
  task.set_task_id(id);
  task.set_model_version(version);
  task.set_architecture(options_.architecture);
  *task.mutable_train() = options_.train;
  // No deadline: how late an update may come is bounded by its staleness.
  task_of_device_[device_id] = id;
  return tasks_.emplace(id, std::move(state)).first->second;
}

const proto::Task* RoundState::IssueAsyncTask(const std::string& device_id) {
  auto latest = task_of_device_.find(device_id);
  if (latest != task_of_device_.end()) {
    TaskState& task = tasks_.at(latest->second);
    absl::Status fresh = task.storing ? absl::OkStatus() : CheckFor(task, UpdateLimits()).CheckStaleness();
    // Its task in training is given again (the device may have restarted);
    // once its update is final here, it waits for the next server step: a
    // device contributes at most one update to each step (client-level DP
    // relies on it, privacy/README.md).
    if (fresh.ok()) return task.committed ? nullptr : &task.task;
    // Its task fell beyond the staleness bound: it is final (an upload for
    // it gets this answer), was never folded, and a fresh task is due.
    if (!task.committed) {
      task.committed = true;
      task.upload.Release();
      task.reply = fresh;
    }
  }
  if (options_.max_outstanding > 0) {
    int64_t outstanding = 0;
    for (const auto& [id, task] : tasks_) outstanding += !task.committed;
    if (outstanding >= options_.max_outstanding) return nullptr;
  }
  ++issued_here_;
  return &AddTask(device_id, options_.round, options_.model_version,
                  AsyncTaskId(options_.round, options_.model_version, device_id))
              .task;
}

RoundState::TaskState* RoundState::RecreateAsyncTask(const std::string& task_id, const std::string& device_id) {
  uint64_t round = 0, version = 0;
  if (!ParseAsyncTaskId(task_id, device_id, &round, &version) || round > options_.round ||
      version > options_.model_version) {
    return nullptr;
  }
  auto latest = task_of_device_.find(device_id);
  if (latest != task_of_device_.end() && !tasks_.at(latest->second).committed) return nullptr;  // one at a time
  return &AddTask(device_id, round, version, task_id);
}

std::map<std::string, RoundState::TaskState> RoundState::TakeOutstanding() {
  std::map<std::string, TaskState> outstanding;
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.committed) {
      ++it;
    } else {
      outstanding.insert(tasks_.extract(it++));
    }
  }
  return outstanding;
}

void RoundState::AdoptTasks(std::map<std::string, TaskState> tasks) {
  for (auto& [id, task] : tasks) task_of_device_[task.device_id] = id;
  tasks_.merge(tasks);
}

RoundState::TaskState* RoundState::FindTask(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second;
}

RoundState::TaskState* RoundState::FindOrIssueTask(const std::string& task_id, const std::string& device_id) {
  if (TaskState* task = FindTask(task_id)) return task;
  if (options_.async) return RecreateAsyncTask(task_id, device_id);
  if (task_id != TaskId(options_.round, device_id) || IssueTask(device_id) == nullptr) return nullptr;
  return FindTask(task_id);
}

absl::Status RoundState::UploadCheck::CheckStaleness() const {
  if (max_staleness < 0 || current_version <= model_version) return absl::OkStatus();
  const uint64_t staleness = current_version - model_version;
  if (staleness <= static_cast<uint64_t>(max_staleness)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "update from '", device_id, "' for task '", task_id, "' is too stale: it was trained on global version ",
      model_version, ", ", staleness, " server steps behind the current version ", current_version,
      ", and this coordinator refuses updates more than ", max_staleness,
      " steps stale ([async] max_staleness); the device should poll for a new task"));
}

bool RoundState::AllSelectedAnswered() const {
  if (tasks_.size() < selected_.size()) return false;  // some never asked for their task
  for (const auto& [id, task] : tasks_) {
    if (!task.committed) return false;
  }
  return true;
}

void RoundState::CountRejection(const char* reason) {
  record_.set_rejected(record_.rejected() + 1);
  ++(*record_.mutable_rejections())[reason];
}

absl::Status RoundState::UploadCheck::CheckHeader(const proto::UpdateHeader& u) const {
  const std::string who = absl::StrCat("update from '", device_id, "': ");
  if (u.round() != round || u.task_id() != task_id) {
    return absl::FailedPreconditionError(absl::StrCat(who, "it is for round ", u.round(), " task '", u.task_id(),
                                                      "', not round ", round, " task '", task_id, "'"));
  }
  if (u.base_version() != model_version) {
    return absl::FailedPreconditionError(absl::StrCat(who, "it was trained from model version ", u.base_version(),
                                                      ", the round serves version ", model_version));
  }
  if (u.layout_id() != layout_id) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "layout id ", u.layout_id(), " does not match the global model's ", layout_id));
  }
  if (u.num_elements() != static_cast<uint64_t>(num_elements)) {
    return absl::InvalidArgumentError(absl::StrCat(who, u.num_elements(), " elements, the model has ", num_elements));
  }
  if (u.codec() != codec) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, "encoded with '", u.codec(), "' but the task asked for '", codec, "'"));
  }
  return absl::OkStatus();
}

int64_t RoundState::DevicesRepresented(const std::string& device_id) const {
  auto it = options_.devices_represented.find(device_id);
  return it == options_.devices_represented.end() ? 1 : it->second;
}

RoundState::UploadCheck RoundState::CheckFor(const TaskState& task, const UpdateLimits& limits) const {
  UploadCheck check{.device_id = task.device_id,
                    .task_id = task.task.task_id(),
                    .round = options_.round,
                    .model_version = options_.model_version,
                    .layout_id = options_.layout_id,
                    .num_elements = options_.num_elements,
                    .codec = options_.train.codec(),
                    .limits = CapForTask(limits, options_.train.max_examples() * DevicesRepresented(task.device_id))};
  if (options_.async) {
    // The task's own buffer and base version; the staleness is against this one's.
    check.round = task.task.round();
    check.model_version = task.task.model_version();
    check.current_version = options_.model_version;
    check.max_staleness = options_.staleness.max_staleness;
  }
  return check;
}

absl::StatusOr<RoundState::CheckedUpload> RoundState::UploadCheck::Run(std::string_view bytes,
                                                                       const char** reason) const {
  const std::string who = absl::StrCat("update from '", device_id, "': ");
  auto rejected = [&](const char* why, absl::Status status) {
    *reason = why;
    return status;
  };
  if (absl::Status fresh = CheckStaleness(); !fresh.ok()) return rejected("stale", fresh);
  CheckedUpload c;
  c.update = std::make_unique<proto::EncodedUpdate>();
  if (!c.update->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return rejected("corrupt",
                    absl::InvalidArgumentError(absl::StrCat(who, "not an EncodedUpdate message (corrupt upload)")));
  }
  const proto::EncodedUpdate& update = *c.update;
  c.metrics = std::map<std::string, double>(update.metrics().begin(), update.metrics().end());
  if (absl::Status valid = CheckHeader(UpdateHeaderOf(update)); !valid.ok()) return rejected("mismatch", valid);
  if (absl::Status valid = CheckUpdateMetrics(c.metrics); !valid.ok()) {
    return rejected("metrics", Prefixed(who, valid));
  }
  absl::StatusOr<std::unique_ptr<UpdateView>> view = DecodeUpdate(update.codec(), update.payload(), num_elements);
  if (!view.ok()) return rejected("decode", view.status());
  c.view = *std::move(view);
  absl::StatusOr<CheckedUpdate> checked = CheckUpdate(*c.view, update.num_examples(), limits);
  if (!checked.ok()) return rejected("bounds", Prefixed(who, checked.status()));
  c.weight = checked->weight;
  return c;
}

absl::StatusOr<RoundState::CheckedUpload> RoundState::Check(const TaskState& task, const UpdateLimits& limits) {
  const char* reason = nullptr;
  absl::StatusOr<CheckedUpload> checked = CheckFor(task, limits).Run(task.upload.bytes(), &reason);
  if (!checked.ok()) CountRejection(reason);
  return checked;
}

absl::Status RoundState::Fold(CheckedUpload c) {
  std::optional<ScaledUpdateView> scaled;
  int64_t staleness = 0;
  if (options_.async) {
    // Server steps may have happened since the update was checked.
    const uint64_t base = c.update->base_version();
    staleness = base < options_.model_version ? static_cast<int64_t>(options_.model_version - base) : 0;
    if (staleness > options_.staleness.max_staleness) {
      CountRejection("stale");
      return absl::FailedPreconditionError(absl::StrCat(
          "update trained on global version ", base, " became ", staleness,
          " server steps stale while it was checked, more than the ", options_.staleness.max_staleness,
          " allowed ([async] max_staleness); the device should poll for a new task"));
    }
    scaled.emplace(c.view.get(), StalenessWeight(staleness, options_.staleness.exponent));
  }
  const UpdateView& view = scaled ? static_cast<const UpdateView&>(*scaled) : *c.view;
  if (absl::Status added = aggregator_->Add(view, c.weight); !added.ok()) {
    CountRejection("aggregator");
    return added;
  }
  record_.set_accepted(record_.accepted() + 1);
  staleness_sum_ += static_cast<double>(staleness);
  staleness_max_ = std::max(staleness_max_, staleness);
  total_weight_ += c.weight;
  for (const auto& [k, v] : c.metrics) metric_sums_[k] += c.weight * v;
  return absl::OkStatus();
}

absl::Status RoundState::Accept(TaskState& task, const UpdateLimits& limits) {
  FEDGE_ASSIGN_OR_RETURN(CheckedUpload checked, Check(task, limits));
  return Fold(std::move(checked));
}

absl::StatusOr<RoundState::TaskState*> RoundState::IssueAcknowledgedTask(const std::string& device_id,
                                                                         const std::string& task_id) {
  if (options_.async) {
    TaskState* task = FindTask(task_id) == nullptr ? RecreateAsyncTask(task_id, device_id) : nullptr;
    if (task != nullptr) return task;
    return absl::DataLossError(absl::StrCat("the stored task '", task_id, "' of device '", device_id,
                                            "' does not belong to buffer ", options_.round, " or was stored twice"));
  }
  if (IssueTask(device_id) == nullptr) {
    return absl::DataLossError(absl::StrCat("device '", device_id, "' was not selected for round ", options_.round,
                                            " or its update was stored twice"));
  }
  return FindTask(TaskId(options_.round, device_id));
}

void RoundState::Acknowledge(TaskState& task, uint64_t size) {
  task.committed = true;
  task.upload.Release();
  proto::UploadResponse reply;
  reply.set_committed_offset(size);
  reply.set_accepted(true);
  task.reply = reply;
}

absl::Status RoundState::Replay(const std::string& device_id, const std::string& bytes, const UpdateLimits& limits,
                                const std::string& task_id) {
  FEDGE_ASSIGN_OR_RETURN(TaskState * task, IssueAcknowledgedTask(device_id, task_id));
  FEDGE_RETURN_IF_ERROR(task->upload.Append(0, bytes, bytes.size()));
  FEDGE_RETURN_IF_ERROR(Accept(*task, limits));
  Acknowledge(*task, bytes.size());
  return absl::OkStatus();
}

absl::Status RoundState::MarkAcknowledged(const std::string& device_id, uint64_t size, const std::string& task_id) {
  FEDGE_ASSIGN_OR_RETURN(TaskState * task, IssueAcknowledgedTask(device_id, task_id));
  Acknowledge(*task, size);
  return absl::OkStatus();
}

std::string RoundState::SaveProgress() const {
  proto::RoundProgress progress;
  std::optional<AggregatorState> state = aggregator_->SaveState();
  progress.mutable_aggregator_sum()->Assign(state->sum.begin(), state->sum.end());
  progress.mutable_aggregator_values()->Assign(state->values.begin(), state->values.end());
  *progress.mutable_record() = record_;
  progress.mutable_metric_sums()->insert(metric_sums_.begin(), metric_sums_.end());
  progress.set_total_weight(total_weight_);
  return progress.SerializeAsString();
}

absl::Status RoundState::ResumeFrom(std::string progress) {
  FEDGE_RETURN_IF_ERROR(RestoreProgress(progress, /*with_record=*/true));
  stored_progress_ = std::move(progress);
  return absl::OkStatus();
}

absl::Status RoundState::RestoreProgress(std::string_view bytes, bool with_record) {
  proto::RoundProgress progress;
  if (!progress.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      progress.record().round() != options_.round) {
    return absl::DataLossError(absl::StrCat("the stored progress of round ", options_.round,
                                            " is corrupt or belongs to round ", progress.record().round()));
  }
  AggregatorState state{{progress.aggregator_sum().begin(), progress.aggregator_sum().end()},
                        {progress.aggregator_values().begin(), progress.aggregator_values().end()}};
  FEDGE_RETURN_IF_ERROR(aggregator_->RestoreState(state));
  metric_sums_ = std::map<std::string, double>(progress.metric_sums().begin(), progress.metric_sums().end());
  total_weight_ = progress.total_weight();
  if (with_record) {
    record_ = progress.record();
  } else {
    record_.set_accepted(progress.record().accepted());
  }
  return absl::OkStatus();
}

void RoundState::ResetUpload(TaskState& task) { task.upload = UploadBuffer(MaxUploadBytes(options_.num_elements)); }

std::map<std::string, RoundState::CommittedReply> RoundState::CommittedReplies() const {
  std::map<std::string, CommittedReply> replies;
  for (const auto& [id, task] : tasks_) {
    if (task.committed) replies.emplace(id, CommittedReply{task.device_id, task.reply});
  }
  return replies;
}

proto::RoundRecord RoundState::FinalRecord() const {
  proto::RoundRecord record = record_;
  if (total_weight_ > 0) {
    for (const auto& [k, v] : metric_sums_) (*record.mutable_metrics())[absl::StrCat("device_", k)] = v / total_weight_;
  }
  return record;
}

}  // namespace fedge
