#include "coordinator/round_state.h"

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

// The same status with `who` (naming the device) in front of its message.
absl::Status Prefixed(std::string_view who, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(AsAbsl(who), status.message()));
}

}  // namespace

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

RoundState::TaskState* RoundState::FindTask(const std::string& task_id) {
  auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second;
}

RoundState::TaskState* RoundState::FindOrIssueTask(const std::string& task_id, const std::string& device_id) {
  if (TaskState* task = FindTask(task_id)) return task;
  if (task_id != TaskId(options_.round, device_id) || IssueTask(device_id) == nullptr) return nullptr;
  return FindTask(task_id);
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

RoundState::UploadCheck RoundState::CheckFor(const TaskState& task, const UpdateLimits& limits) const {
  return UploadCheck{.device_id = task.device_id,
                     .task_id = task.task.task_id(),
                     .round = options_.round,
                     .model_version = options_.model_version,
                     .layout_id = options_.layout_id,
                     .num_elements = options_.num_elements,
                     .codec = options_.train.codec(),
                     .limits = CapForTask(limits, options_.train.max_examples())};
}

absl::StatusOr<RoundState::CheckedUpload> RoundState::UploadCheck::Run(std::string_view bytes,
                                                                       const char** reason) const {
  const std::string who = absl::StrCat("update from '", device_id, "': ");
  auto rejected = [&](const char* why, absl::Status status) {
    *reason = why;
    return status;
  };
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
  if (absl::Status added = aggregator_->Add(*c.view, c.weight); !added.ok()) {
    CountRejection("aggregator");
    return added;
  }
  record_.set_accepted(record_.accepted() + 1);
  total_weight_ += c.weight;
  for (const auto& [k, v] : c.metrics) metric_sums_[k] += c.weight * v;
  return absl::OkStatus();
}

absl::Status RoundState::Accept(TaskState& task, const UpdateLimits& limits) {
  FEDGE_ASSIGN_OR_RETURN(CheckedUpload checked, Check(task, limits));
  return Fold(std::move(checked));
}

absl::StatusOr<RoundState::TaskState*> RoundState::IssueAcknowledgedTask(const std::string& device_id) {
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

absl::Status RoundState::Replay(const std::string& device_id, const std::string& bytes, const UpdateLimits& limits) {
  FEDGE_ASSIGN_OR_RETURN(TaskState * task, IssueAcknowledgedTask(device_id));
  FEDGE_RETURN_IF_ERROR(task->upload.Append(0, bytes, bytes.size()));
  FEDGE_RETURN_IF_ERROR(Accept(*task, limits));
  Acknowledge(*task, bytes.size());
  return absl::OkStatus();
}

absl::Status RoundState::MarkAcknowledged(const std::string& device_id, uint64_t size) {
  FEDGE_ASSIGN_OR_RETURN(TaskState * task, IssueAcknowledgedTask(device_id));
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
