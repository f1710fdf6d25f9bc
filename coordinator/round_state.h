// File: coordinator/round_state.h
//
// The state of one open round, owned by the Federation under its lock: the
// sampled devices and their tasks, each task's upload in progress, the
// streaming aggregator and the counters that become the RoundRecord.
// `Accept` is the trust boundary for updates: it parses and validates the
// uploaded bytes once and only then lets them touch the aggregate.
//
// Asynchronous mode (Options::async; coordinator/README.md, "Asynchronous
// mode"): the RoundState is one FedBuff buffer, closed every `target`
// accepted updates. There is no sampled cohort: any device may take a task
// (at most `max_outstanding` at once, one per device), a task outlives the
// buffer it was issued in (TakeOutstanding / AdoptTasks carry it to the
// next), and an update trained on base version b is folded with the weight
// (1 + s)^-a, s = model_version - b, or refused when s > max_staleness.
//
// Thread-safety: not thread-safe; the Federation serialises access.
#ifndef FEDGE_COORDINATOR_ROUND_STATE_H_
#define FEDGE_COORDINATOR_ROUND_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aggregation/staleness.h"
#include "aggregation/strategy.h"
#include "aggregation/update_checks.h"
#include "coordinator/upload_buffer.h"
#include "proto/fedge.pb.h"

namespace fedge {

class RoundState {
 public:
  struct Options {
    uint64_t round = 0;
    uint64_t model_version = 0;
    uint64_t layout_id = 0;
    int64_t num_elements = 0;
    int64_t target = 1;  // accepted updates that close the round
    std::string architecture;
    proto::TrainConfig train;
    absl::Time opened;
    absl::Time deadline;
    // Asynchronous mode (see the file comment); the fields below it are
    // used only when it is set.
    bool async = false;
    StalenessOptions staleness = {};
    int64_t max_outstanding = 0;  // tasks in training at once; 0: no limit
    // Gateways (gateway/gateway.h) by device id, with the number of devices
    // whose updates theirs combines: such an update may claim that many
    // times the task's per-device example cap (train.max_examples).
    absl::flat_hash_map<std::string, int64_t> devices_represented = {};
  };

  struct TaskState {
    std::string device_id;
    proto::Task task;
    UploadBuffer upload;
    bool committed = false;
    // The final chunk is being made durable (Federation with a store): a
    // resubmission meanwhile must not start a second commit.
    bool storing = false;
    // The answer to the final chunk, replayed to resubmissions.
    absl::StatusOr<proto::UploadResponse> reply = proto::UploadResponse();
  };

  struct CommittedReply {
    std::string device_id;
    absl::StatusOr<proto::UploadResponse> reply;
  };

  RoundState(Options options, std::vector<std::string> selected, std::unique_ptr<RoundAggregator> aggregator);

  // The task of `device_id`, created on first call; null when the device was
  // not selected or its update is already committed.
  const proto::Task* IssueTask(const std::string& device_id);
  // Null for a task id that is not part of this round.
  TaskState* FindTask(const std::string& task_id);
  // FindTask, but a task this round would issue to `device_id` (a selected
  // device, the round's task id) is created when missing: after a restart a
  // device uploads for a task issued before it.
  TaskState* FindOrIssueTask(const std::string& task_id, const std::string& device_id);

  // A complete upload that passed every check and is ready to be folded in.
  // Holds the parsed update (the view points into it).
  struct CheckedUpload {
    std::unique_ptr<proto::EncodedUpdate> update;
    std::unique_ptr<UpdateView> view;
    std::map<std::string, double> metrics;
    double weight = 0;
  };

  // Everything the checks of one complete upload need, copied from its
  // round and task: the checks (parsing, decoding, bounds: the costly part
  // of an upload) then run without the Federation's lock, while the round
  // may even close. Thread-compatible value.
  struct UploadCheck {
    std::string device_id;
    std::string task_id;
    uint64_t round = 0;
    uint64_t model_version = 0;
    uint64_t layout_id = 0;
    int64_t num_elements = 0;
    std::string codec;
    UpdateLimits limits;  // capped for the task (CapForTask)
    // Asynchronous mode: the buffer's global version and the staleness
    // bound (-1: synchronous, no bound).
    uint64_t current_version = 0;
    int64_t max_staleness = -1;
    // kFailedPrecondition naming the staleness and the bound when the
    // update is too stale to be folded; OK otherwise (and always in sync).
    absl::Status CheckStaleness() const;
    // Parses and validates `bytes` without touching any round. An error is
    // kInvalidArgument (or kFailedPrecondition for a stale round or base
    // version) naming what was wrong; *reason is then the RoundRecord
    // rejection reason to count it under.
    absl::StatusOr<CheckedUpload> Run(std::string_view bytes, const char** reason) const;
    // The header of the first chunk (or of the complete update) against the
    // task: rejected as a "mismatch" when it fails.
    absl::Status CheckHeader(const proto::UpdateHeader& header) const;
  };
  UploadCheck CheckFor(const TaskState& task, const UpdateLimits& limits) const;
  // CheckFor(task).Run(the task's upload), counting a rejection.
  absl::StatusOr<CheckedUpload> Check(const TaskState& task, const UpdateLimits& limits);
  // One more rejected update, under `reason` (RoundRecord.rejections).
  void CountRejection(const char* reason);
  // Folds a checked upload into the aggregate and counts it as accepted.
  absl::Status Fold(CheckedUpload checked);
  // Check then Fold.
  absl::Status Accept(TaskState& task, const UpdateLimits& limits);
  // Re-applies an update acknowledged before a restart: issues the task,
  // accepts `bytes` and marks the task committed with an accepted reply.
  // An error means the stored update no longer validates. `task_id` is
  // used in asynchronous mode only, where it names the base version.
  absl::Status Replay(const std::string& device_id, const std::string& bytes, const UpdateLimits& limits,
                      const std::string& task_id = {});
  // Checkpoints (coordinator/store/README.md): true when the aggregator's
  // state can be saved, so a durable coordinator stores the round's
  // progress per batch of acknowledgements instead of every update.
  bool checkpoints() const { return checkpoints_; }
  // The aggregate and the record so far (a serialized proto::RoundProgress).
  // REQUIRES: checkpoints().
  std::string SaveProgress() const;
  // Resumes from stored progress: the aggregate and the whole record.
  // kDataLoss when it does not fit this round.
  absl::Status ResumeFrom(std::string progress);
  // `progress` (from SaveProgress) is durable now: RollBackToStored returns
  // to it. Until the first call, that is the empty round.
  void ProgressStored(std::string progress) { stored_progress_ = std::move(progress); }
  // Undoes what was folded since the stored progress (its write failed):
  // the aggregate, the accepted count and the device metrics. Rejections
  // and bytes counted meanwhile stay.
  absl::Status RollBackToStored() { return RestoreProgress(stored_progress_, /*with_record=*/false); }
  // Marks the task of `device_id` committed with an accepted reply for an
  // update of `size` bytes, without counting it (it is in the restored
  // progress). kDataLoss when the device was not selected or is marked twice.
  absl::Status MarkAcknowledged(const std::string& device_id, uint64_t size, const std::string& task_id = {});
  // Final for the task: committed, answered accepted with `size` bytes.
  static void Acknowledge(TaskState& task, uint64_t size);
  // Drops a task's partial upload (the device must send it again).
  void ResetUpload(TaskState& task);

  // --- Asynchronous mode ---
  // The tasks not final yet (issued, uploading or being checked), moved out
  // for the next buffer; the buffer must not be used afterwards.
  std::map<std::string, TaskState> TakeOutstanding();
  // Takes over a previous buffer's outstanding tasks.
  void AdoptTasks(std::map<std::string, TaskState> tasks);
  // The base version named by an asynchronous task id of `device_id`;
  // nullopt when `task_id` is not one.
  static std::optional<uint64_t> AsyncTaskBaseVersion(std::string_view task_id, const std::string& device_id);
  // Tasks issued by this buffer (not adopted ones).
  int64_t issued_here() const { return issued_here_; }
  // Staleness of the updates folded so far: sum and maximum.
  double staleness_sum() const { return staleness_sum_; }
  int64_t staleness_max() const { return staleness_max_; }
  bool async() const { return options_.async; }

  // The final answers given so far, by task id.
  std::map<std::string, CommittedReply> CommittedReplies() const;

  // The round's combined delta. REQUIRES: called once, at close.
  absl::StatusOr<std::vector<float>> Finish() { return aggregator_->Finish(); }
  // The record so far, with device metrics averaged by aggregation weight.
  proto::RoundRecord FinalRecord() const;
  proto::RoundRecord& record() { return record_; }

  uint64_t round() const { return options_.round; }
  absl::Time deadline() const { return options_.deadline; }
  int64_t target() const { return options_.target; }
  int64_t accepted() const { return record_.accepted(); }
  // The sum of the accepted updates' aggregation weights (capped example
  // counts, before any staleness weight).
  double total_weight() const { return total_weight_; }
  int64_t issued() const { return static_cast<int64_t>(tasks_.size()); }
  // Every selected device's update is final (accepted or rejected): nothing
  // more can arrive, so waiting for the deadline would gain nothing.
  bool AllSelectedAnswered() const;
  const std::vector<std::string>& selected() const { return selected_; }

 private:
  // 1, or the devices a gateway's updates combine (Options).
  int64_t DevicesRepresented(const std::string& device_id) const;
  // The task of a device whose update was acknowledged before a restart.
  absl::StatusOr<TaskState*> IssueAcknowledgedTask(const std::string& device_id, const std::string& task_id);
  absl::Status RestoreProgress(std::string_view progress, bool with_record);
  // IssueTask in asynchronous mode.
  const proto::Task* IssueAsyncTask(const std::string& device_id);
  // Creates the task `task_id` (an asynchronous one) for `device_id` as the
  // buffer that issued it did; null when the id is not of this form, names
  // another device or a later buffer or version than this one.
  TaskState* RecreateAsyncTask(const std::string& task_id, const std::string& device_id);
  TaskState& AddTask(const std::string& device_id, uint64_t round, uint64_t version, const std::string& id);

  Options options_;
  std::vector<std::string> selected_;
  std::unique_ptr<RoundAggregator> aggregator_;
  bool checkpoints_ = false;
  std::string stored_progress_;  // checkpoints_ only
  absl::flat_hash_map<std::string, bool> is_selected_;
  std::map<std::string, TaskState> tasks_;  // by task id
  proto::RoundRecord record_;
  std::map<std::string, double> metric_sums_;  // weighted by aggregation weight
  double total_weight_ = 0;
  // Asynchronous mode.
  absl::flat_hash_map<std::string, std::string> task_of_device_;  // its latest task here
  int64_t issued_here_ = 0;
  double staleness_sum_ = 0;
  int64_t staleness_max_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ROUND_STATE_H_
