#include "coordinator/federation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "compression/codec.h"
#include "coordinator/client_dp_aggregator.h"
#include "coordinator/degrading_deployer.h"
#include "coordinator/federation_impl.h"
#include "coordinator/deployed_model.h"
#include "coordinator/report_checks.h"
#include "coordinator/round_state.h"
#include "core/artifact.h"
#include "core/cpu_time.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {

using federation_internal::DeviceEntry;
using federation_internal::PendingRecord;
using federation_internal::ToMicros;

namespace {

// A gateway declares at registration how many devices its updates combine
// (kGatewayDevicesAttribute); 1 for a device. Bounded: the global example
// cap ([limits] max_examples) still applies to whatever it claims.
int64_t DevicesRepresented(const proto::DeviceInfo& info) {
  auto it = info.attributes().find(kGatewayDevicesAttribute);
  int64_t n = 1;
  if (it == info.attributes().end() || !absl::SimpleAtoi(it->second, &n)) return 1;
  return std::clamp<int64_t>(n, 1, 1'000'000);
}

}  // namespace

RoundState::Options Federation::Impl::RoundOptions(uint64_t round, int64_t target, proto::TrainConfig train,
                                                   absl::Time opened, absl::Time deadline) const {
  RoundState::Options o{.round = round,
                        .model_version = version,
                        .layout_id = global.layout.id(),
                        .num_elements = global.layout.num_elements(),
                        .target = target,
                        .architecture = options.architecture,
                        .train = std::move(train),
                        .opened = opened,
                        .deadline = deadline};
  for (const auto& [id, entry] : devices) {
    if (int64_t n = DevicesRepresented(entry.info); n > 1) o.devices_represented[id] = n;
  }
  if (options.async.enabled) {
    o.async = true;
    o.staleness = options.async.staleness;
    o.max_outstanding = options.async.max_concurrent;
  }
  return o;
}

absl::Status Federation::Impl::PublishModel() {
  proto::ArtifactHeader header;
  header.set_model_id(options.model_id);
  header.set_version(version);
  header.set_parent_version(version - 1);
  header.set_architecture(options.architecture);
  header.set_created_unix_micros(ToMicros(clock->Now()));
  for (const auto& [k, v] : latest_metrics) (*header.mutable_metrics())[k] = v;
  FEDGE_ASSIGN_OR_RETURN(signed_model, SignArtifact(MakeFp32Body(std::move(header), global), signing_key));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Federation>> Federation::Create(FederationOptions options,
                                                                std::unique_ptr<Strategy> strategy,
                                                                ModelParams initial_model, SigningKey signing_key,
                                                                Clock* clock, ModelEvaluator* evaluator) {
  FEDGE_RETURN_IF_ERROR(ValidateFederationOptions(options));
  FEDGE_RETURN_IF_ERROR(initial_model.Validate());
  if (strategy == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("federation: a strategy and a clock are required");
  }
  if (options.secagg.enabled) FEDGE_RETURN_IF_ERROR(CheckSecAggStrategy(strategy->name()));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(strategy), std::move(signing_key), clock,
                                     evaluator);
  if (impl->options.rollout.enabled) impl->rollout.emplace(impl->options.rollout);
  if (impl->options.test_degrade_from_version > 0 && impl->options.deployer != nullptr) {
    FEDGE_LOG(WARNING) << "TEST-ONLY: deployed models from version " << impl->options.test_degrade_from_version
                       << " on are degraded ([deploy] test_degrade_from_version)";
    impl->degrading_deployer = std::make_unique<DegradingDeployer>(impl->options.deployer, &impl->signing_key,
                                                                   impl->options.test_degrade_from_version);
  }
  if (impl->options.client_dp) {
    SecureRandom* rng = impl->options.dp_random ? impl->options.dp_random : SecureRandom::Default();
    FEDGE_ASSIGN_OR_RETURN(impl->client_dp, ClientDp::Create(*impl->options.client_dp, rng));
  }
  {
    absl::MutexLock lock(&impl->mu);
    impl->global = initial_model;
    FEDGE_RETURN_IF_ERROR(impl->PublishModel());
    if (impl->options.store != nullptr) FEDGE_RETURN_IF_ERROR(impl->LoadOrInitialize(initial_model));
  }
  if (impl->options.store != nullptr) {
    Impl* s = impl.get();
    GroupCommit::Hooks hooks;
    hooks.progress = [s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
      return s->open && s->open->checkpoints() ? s->open->SaveProgress() : std::string();
    };
    hooks.stored = [s](const absl::Status& stored, std::string progress) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
      if (!s->open || !s->open->checkpoints()) return;
      if (stored.ok()) {
        s->open->ProgressStored(std::move(progress));
      } else if (absl::Status undone = s->open->RollBackToStored(); !undone.ok()) {
        s->store_error = undone;  // cannot happen: the progress was saved by this round
      }
    };
    impl->journal = std::make_unique<GroupCommit>(impl->options.store, &impl->mu, std::move(hooks));
  }
  return std::unique_ptr<Federation>(new Federation(std::move(impl)));
}

Federation::Federation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Federation::~Federation() {
  // First: its threads run callbacks on the rest of the state.
  impl_->journal.reset();
}

absl::StatusOr<proto::RegisterResponse> Federation::Register(const proto::RegisterRequest& request) {
  const std::string& id = request.device().device_id();
  if (id.empty()) return absl::InvalidArgumentError("register: device_id must not be empty");
  FEDGE_RETURN_IF_ERROR(CheckDeviceInfo(request.device()));
  absl::MutexLock lock(&impl_->mu);
  FEDGE_RETURN_IF_ERROR(impl_->CheckAdmitted(id));
  DeviceEntry& entry = impl_->devices[id];
  entry.info = request.device();
  const int64_t now = ToMicros(impl_->clock->Now());
  if (entry.first_seen_unix_micros == 0) entry.first_seen_unix_micros = now;
  entry.last_seen_unix_micros = now;
  impl_->MarkDirty(id);
  proto::RegisterResponse response;
  response.set_device_id(id);
  response.set_model_id(impl_->options.model_id);
  response.set_coordinator_public_key(impl_->signing_key.verify_key().raw());
  return response;
}

absl::StatusOr<proto::PollTaskResponse> Federation::PollTask(const proto::PollTaskRequest& request) {
  absl::MutexLock lock(&impl_->mu);
  FEDGE_RETURN_IF_ERROR(impl_->CheckAdmitted(request.device_id()));
  auto it = impl_->devices.find(request.device_id());
  if (it == impl_->devices.end() || !Impl::Registered(it->second)) {
    return absl::NotFoundError(absl::StrCat("device '", request.device_id(), "' is not registered; call Register first"));
  }
  it->second.eligible = request.eligible();
  it->second.ineligible_reason = request.ineligible_reason();
  // While a rollout runs, devices keep polling after the last round so that
  // it can complete or roll back.
  if (impl_->Finished() && !impl_->RolloutActive()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the federation has finished its ", impl_->RoundLimit(), " rounds"));
  }
  proto::PollTaskResponse response;
  const proto::Task* task = nullptr;
  if (impl_->open && request.eligible()) task = impl_->open->IssueTask(request.device_id());
  if (task != nullptr) {
    *response.mutable_task() = *task;
    // Its base version's artifact: in async mode a carried task's base may
    // be a recent version, not the current one.
    const std::string* base = impl_->ServedModel(task->model_version());
    response.mutable_task()->set_model_size_bytes(base ? base->size() : impl_->signed_model.size());
    if (impl_->secagg) impl_->secagg->FillTask(request.device_id(), *response.mutable_task());
  } else {
    response.set_retry_after_millis(absl::ToInt64Milliseconds(impl_->options.poll_interval));
  }
  response.set_deployed_model_version(impl_->DeployedVersionFor(request.device_id()));
  return response;
}

absl::StatusOr<proto::DownloadResponse> Federation::Download(const proto::DownloadRequest& request) {
  absl::MutexLock lock(&impl_->mu);
  FEDGE_RETURN_IF_ERROR(impl_->CheckAdmitted(request.device_id()));
  const bool deployed = request.artifact() == proto::ARTIFACT_DEPLOYED_MODEL;
  if (!deployed && request.artifact() != proto::ARTIFACT_GLOBAL_MODEL) {
    return absl::InvalidArgumentError(absl::StrCat("unknown artifact kind ", request.artifact()));
  }
  const uint64_t served = deployed ? impl_->DeployedVersionFor(request.device_id()) : impl_->version;
  // A deployed version the rollout still serves to some devices is served.
  const std::string* artifact = deployed ? impl_->DeployedArtifact(request.model_version())
                                         : impl_->ServedModel(request.model_version());
  if (artifact == nullptr || served == 0) {
    return absl::FailedPreconditionError(absl::StrCat(deployed ? "deployed" : "global", " model version ",
                                                      request.model_version(), " is not served; the current one is ",
                                                      served, served == 0 ? " (none yet)" : ""));
  }
  const std::string& model = *artifact;
  if (request.offset() > model.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("download offset ", request.offset(), " is past the end of the ", model.size(), "-byte model"));
  }
  uint64_t n = impl_->options.download_chunk_bytes;
  if (request.max_bytes() > 0) n = std::min<uint64_t>(n, request.max_bytes());
  n = std::min<uint64_t>(n, model.size() - request.offset());
  FEDGE_LOG(DEBUG) << request.device_id() << ": download of " << (deployed ? "deployed" : "global") << " model v"
                   << served << " at offset " << request.offset() << " of " << model.size();
  proto::DownloadResponse response;
  response.set_offset(request.offset());
  response.set_data(model.substr(request.offset(), n));
  response.set_total_size(model.size());
  if (impl_->open) impl_->open->record().set_bytes_down(impl_->open->record().bytes_down() + n);
  if (impl_->options.fault_point && request.offset() > 0 && request.offset() + n < model.size()) {
    impl_->options.fault_point("download-partial");
  }
  if (impl_->options.fault_point && !deployed && request.offset() + n == model.size()) {
    impl_->options.fault_point("download-complete");
  }
  return response;
}

absl::StatusOr<proto::UploadResponse> Federation::Upload(const proto::UploadRequest& request) {
  absl::StatusOr<proto::UploadResponse> answer;
  absl::Notification answered;
  UploadAsync(request, [&](absl::StatusOr<proto::UploadResponse> a) {
    answer = std::move(a);
    answered.Notify();
  });
  answered.WaitForNotification();
  return answer;
}

void Federation::UploadAsync(const proto::UploadRequest& request, UploadDone done) {
  Impl& s = *impl_;
  Impl::Received received;
  absl::StatusOr<proto::UploadResponse> answer;
  // An update sent in one chunk (the usual case) is copied before the lock
  // is taken, not under it.
  std::string whole;
  if (request.offset() == 0 && request.final() && request.data().size() == request.total_size()) {
    whole = request.data();
  }
  {
    absl::MutexLock lock(&s.mu);
    answer = s.Receive(request, std::move(whole), received);
  }
  if (!received.complete) return std::move(done)(std::move(answer));
  // The checks (parsing, decoding, bounds) are the costly part of an upload:
  // they run without the lock, on the RPC's own thread.
  const char* reason = nullptr;
  absl::StatusOr<RoundState::CheckedUpload> checked = received.check.Run(received.bytes, &reason);
  std::optional<absl::StatusOr<proto::UploadResponse>> decided;
  {
    absl::MutexLock lock(&s.mu);
    // Queued on the journal (nullopt), `done` moved with it: it runs once
    // the update's batch is written (and synced), outside this lock.
    decided = s.Decide(received, std::move(checked), reason, done);
  }
  if (decided) std::move(done)(*std::move(decided));
}

absl::StatusOr<proto::UploadResponse> Federation::Impl::Receive(const proto::UploadRequest& request,
                                                                std::string whole, Received& received) {
  FEDGE_RETURN_IF_ERROR(CheckAdmitted(request.device_id()));
  if (options.secagg.enabled) {
    return absl::FailedPreconditionError(
        "this federation uses secure aggregation: updates are sent masked through the SecAgg RPC, not uploaded");
  }
  // A task of the last closed round is never part of the open one.
  auto replayed = last_round_replies.find(request.task_id());
  if (replayed != last_round_replies.end() && replayed->second.device_id == request.device_id()) {
    return replayed->second.reply;
  }
  if (open && open->async() && open->FindTask(request.task_id()) == nullptr) {
    FEDGE_RETURN_IF_ERROR(CheckNotSuperseded(request));
  }
  RoundState::TaskState* task = open ? open->FindOrIssueTask(request.task_id(), request.device_id()) : nullptr;
  if (task == nullptr || task->device_id != request.device_id()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task '", request.task_id(), "' is not open for device '", request.device_id(),
        "': its round has closed (late update) or it was never assigned to this device"));
  }
  if (task->committed) return task->reply;  // resubmission: answered again, never counted twice
  if (task->storing) {
    return absl::UnavailableError(absl::StrCat("the update of task '", request.task_id(),
                                               "' is being stored; send its final chunk again for the answer"));
  }
  if (open->async()) {
    // Refused before anything is buffered; never touches the aggregate.
    if (absl::Status fresh = open->CheckFor(*task, options.limits).CheckStaleness(); !fresh.ok()) {
      open->CountRejection("stale");
      return Reject(*task, fresh);
    }
  }
  open->record().set_bytes_up(open->record().bytes_up() + request.data().size());
  if (request.has_header()) {
    // Refused before the body arrives: final for the task, like any update
    // that does not fit it.
    if (absl::Status fits = open->CheckFor(*task, options.limits).CheckHeader(request.header()); !fits.ok()) {
      open->CountRejection("mismatch");
      return Reject(*task, fits);
    }
  }
  FEDGE_RETURN_IF_ERROR(whole.empty() ? task->upload.Append(request.offset(), request.data(), request.total_size())
                                      : task->upload.AppendOwned(request.offset(), std::move(whole),
                                                                 request.total_size()));
  FEDGE_LOG(DEBUG) << request.device_id() << ": upload of task " << request.task_id() << " at offset "
                   << request.offset() << " of " << request.total_size() << (request.final() ? " (final)" : "");
  if (options.fault_point && request.offset() > 0 && !request.final()) options.fault_point("upload-partial");
  proto::UploadResponse response;
  response.set_committed_offset(task->upload.committed());
  if (!request.final() || !task->upload.complete()) return response;
  task->storing = true;  // until decided: a resubmission meanwhile is answered UNAVAILABLE
  ++being_checked;
  received.check = open->CheckFor(*task, options.limits);
  received.bytes = task->upload.TakeBytes();
  received.complete = true;
  return response;
}

std::optional<absl::StatusOr<proto::UploadResponse>> Federation::Impl::Decide(
    Received& received, absl::StatusOr<RoundState::CheckedUpload> checked, const char* reason, UploadDone& done) {
  --being_checked;
  const RoundState::UploadCheck& check = received.check;
  // An asynchronous task moves to the next buffer when the buffer steps.
  const bool same_round = open && (open->async() || open->round() == check.round);
  RoundState::TaskState* task = same_round ? open->FindTask(check.task_id) : nullptr;
  if (task == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("task '", check.task_id,
                                                      "' is not open any more: its round reached its target while "
                                                      "the update was checked (late update)"));
  }
  if (!checked.ok()) {
    task->storing = false;
    open->CountRejection(reason);
    return Reject(*task, checked.status());
  }
  if (journal == nullptr) {
    task->storing = false;
    return Settle(*task, absl::OkStatus(), *std::move(checked));
  }
  return BeginStoring(task, std::move(received.bytes), *std::move(checked), done);
}

absl::Status Federation::Impl::Reject(RoundState::TaskState& task, absl::Status why) {
  task.committed = true;
  task.upload.Release();
  NoteRejection(task.device_id, why);
  FEDGE_LOG(WARNING) << "round " << open->round() << ": rejected update from " << task.device_id << ": "
                     << why.message();
  task.reply = why;
  CloseIfComplete();
  return why;
}

void Federation::Impl::CloseIfComplete() {
  if (!open || being_stored > 0) return;
  if (open->accepted() >= open->target()) {
    CloseRound("target reached");
  } else if (!open->async() && open->AllSelectedAnswered()) {
    CloseRound("every selected device answered");
  }
}

std::optional<absl::StatusOr<proto::UploadResponse>> Federation::Impl::BeginStoring(
    RoundState::TaskState* task, std::string bytes, RoundState::CheckedUpload checked, UploadDone& done) {
  const uint64_t round = open->round();
  const std::string task_id = task->task.task_id();
  // Room in the round, so a batch never takes the round past its target
  // (holding strategies have a maximum): a checkpointed round counts its
  // updates when they are folded, before they are stored; otherwise updates
  // being stored count as accepted. Waiting releases the lock; the round
  // may close meanwhile.
  struct Room {
    Impl* s;
    uint64_t round;
    bool operator()() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
      if (!s->open || s->open->round() != round) return true;
      const int64_t unfolded = s->open->checkpoints() ? 0 : s->being_stored;
      return s->open->accepted() + unfolded < s->open->target();
    }
  };
  const Room room{this, round};
  mu.Await(absl::Condition(&room));
  if (open && open->async() && open->round() != round) {
    // The buffer stepped while the update waited: its task moved to the
    // next buffer, which folds it (at its new staleness).
    if (RoundState::TaskState* moved = open->FindTask(task_id)) {
      return BeginStoring(moved, std::move(bytes), std::move(checked), done);
    }
  }
  if (!open || open->round() != round) {
    return absl::FailedPreconditionError(
        absl::StrCat("task '", task_id, "' is not open any more: its round closed while the update waited to be stored"));
  }
  task = open->FindTask(task_id);  // tasks live as long as their round
  if (!store_error.ok()) {
    task->storing = false;
    open->ResetUpload(*task);
    return store_error;
  }
  // A checkpointed round folds the update now, by the thread that checked
  // it, and stores its progress with the batch; otherwise the update is
  // folded once its bytes are durable.
  const bool checkpointed = open->checkpoints();
  std::map<std::string, double> trained = checked.metrics;  // for the fleet registry
  if (checkpointed) {
    if (absl::Status folded = open->Fold(std::move(checked)); !folded.ok()) {
      task->storing = false;
      return Reject(*task, folded);
    }
  }
  ++being_stored;
  auto answer = std::make_shared<absl::StatusOr<proto::UploadResponse>>();
  auto unfolded = std::make_shared<std::optional<RoundState::CheckedUpload>>();
  if (!checkpointed) unfolded->emplace(std::move(checked));
  const uint64_t size = task->upload.committed();
  journal->Enqueue(
      AckedUpdate{round, task_id, task->device_id, checkpointed ? std::string() : std::move(bytes), size},
      [this, round, task_id, unfolded, answer, trained = std::move(trained)](const absl::Status& stored) mutable {
        mu.AssertHeld();
        --being_stored;
        // The round is still open: it closes at its target only through
        // an acknowledgement, and at its deadline only once nothing is
        // being stored.
        RoundState::TaskState* t = open && open->round() == round ? open->FindTask(task_id) : nullptr;
        if (t == nullptr) {
          *answer = absl::InternalError(absl::StrCat("round ", round, " closed while task '", task_id,
                                                     "' was being stored"));
          return;
        }
        t->storing = false;
        if (*unfolded) {
          *answer = Settle(*t, stored, std::move(**unfolded));
        } else if (stored.ok()) {
          *answer = Acknowledge(*t, std::move(trained));
        } else {
          *answer = Refuse(*t, stored);  // the stored hook undid the fold
        }
      },
      [answer, done = std::move(done)](const absl::Status&) mutable { std::move(done)(std::move(*answer)); });
  return std::nullopt;
}

absl::StatusOr<proto::UploadResponse> Federation::Impl::Settle(RoundState::TaskState& task,
                                                               const absl::Status& stored,
                                                               RoundState::CheckedUpload checked) {
  if (!stored.ok()) return Refuse(task, stored);
  std::map<std::string, double> trained = checked.metrics;  // checked by CheckUpdateMetrics
  absl::Status verdict = open->Fold(std::move(checked));
  if (!verdict.ok()) return Reject(task, verdict);
  return Acknowledge(task, std::move(trained));
}

absl::Status Federation::Impl::Refuse(RoundState::TaskState& task, const absl::Status& stored) {
  // Durable before it counts: the aggregate is untouched and the device
  // sends the update again.
  FEDGE_LOG(ERROR) << "round " << open->round() << ": update from " << task.device_id
                   << " not acknowledged: " << stored.message();
  open->ResetUpload(task);
  return StoreFailure(stored);
}

proto::UploadResponse Federation::Impl::Acknowledge(RoundState::TaskState& task,
                                                    std::map<std::string, double> trained) {
  RoundState::Acknowledge(task, task.upload.committed());
  // tests/e2e/async_federation_test.sh counts these: each update once.
  FEDGE_LOG(DEBUG) << "round " << open->round() << ": accepted update of task " << task.task.task_id() << " from "
                   << task.device_id;
  DeviceEntry& device = devices[task.device_id];
  device.drift.set_drifting(false);  // its data is in the model now
  ++device.rounds_joined;
  ++device.updates_accepted;
  device.training_version = task.task.model_version();
  device.training_metrics = std::move(trained);
  device.last_seen_unix_micros = ToMicros(clock->Now());
  MarkDirty(task.device_id);
  // A checkpointed batch counts its updates before they are acknowledged:
  // the round closes with the batch's last one.
  const proto::UploadResponse response = *task.reply;
  CloseIfComplete();
  return response;
}

absl::StatusOr<proto::ReportResponse> Federation::Report(const proto::DeviceReport& report) {
  FEDGE_RETURN_IF_ERROR(CheckDeviceReport(report));
  absl::MutexLock lock(&impl_->mu);
  FEDGE_RETURN_IF_ERROR(impl_->CheckAdmitted(report.device_id()));
  auto it = impl_->devices.find(report.device_id());
  if (it == impl_->devices.end() || !Impl::Registered(it->second)) {
    return absl::NotFoundError(absl::StrCat("device '", report.device_id(), "' is not registered"));
  }
  it->second.metrics.clear();
  for (const auto& [k, v] : report.metrics()) it->second.metrics[k] = v;
  it->second.epsilon_spent = std::max(it->second.epsilon_spent, report.epsilon_spent());
  it->second.inference_version = report.inference_model_version();
  it->second.last_seen_unix_micros = ToMicros(impl_->clock->Now());
  it->second.last_report_unix_micros = it->second.last_seen_unix_micros;
  impl_->MarkDirty(report.device_id());
  if (report.alarms_size() > 0) {
    proto::DeviceDrift& drift = it->second.drift;
    const proto::DriftAlarm& last = report.alarms(report.alarms_size() - 1);
    drift.set_device_id(report.device_id());
    drift.set_alarms(drift.alarms() + report.alarms_size());
    drift.set_last_alarm_unix_micros(last.unix_micros());
    drift.set_last_detector(last.detector());
    drift.set_last_statistic(last.statistic());
    drift.set_drifting(true);
    FEDGE_LOG(INFO) << "drift alarm from " << report.device_id() << ": " << last.detector() << " statistic "
                    << last.statistic();
  }
  if (impl_->open) {
    impl_->open->record().set_drift_alarms(impl_->open->record().drift_alarms() + report.alarms_size());
  } else {
    impl_->drift_alarms_between_rounds += report.alarms_size();
  }
  impl_->ObserveForRollout(report);
  return proto::ReportResponse();
}

std::unique_ptr<RoundAggregator> Federation::Impl::BeginAggregation(int64_t target) {
  const int64_t n = global.layout.num_elements();
  if (client_dp == nullptr) return strategy->BeginRound(n);
  return std::make_unique<ClientDpAggregator>(client_dp->BeginRound(n), target);
}

void Federation::Impl::MaybeOpenRound() {
  if (!store_error.ok()) return;
  if (open || Finished() || (RoundLimit() > 0 && static_cast<int64_t>(rounds_started) >= RoundLimit())) return;
  if (options.async.enabled) return OpenAsyncBuffer({});
  // Only registered, active devices take part (enrolment adds pending and
  // revoked ones to the registry).
  std::vector<std::string> eligible;
  int64_t registered = 0;
  for (const auto& [id, entry] : devices) {
    if (!Registered(entry) || entry.status != proto::DEVICE_STATUS_ACTIVE) continue;
    ++registered;
    if (entry.eligible) eligible.push_back(id);
  }
  if (registered < options.min_devices || eligible.empty()) return;
  const int64_t n = static_cast<int64_t>(eligible.size());
  int64_t target = options.fraction > 0 ? static_cast<int64_t>(std::ceil(options.fraction * n))
                                        : options.devices_per_round;
  target = std::clamp<int64_t>(target, 1, n);
  const int64_t selected = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(target * options.over_selection)));

  const uint64_t round = ++rounds_started;
  SeededRandom rng(DeriveSeed(options.seed, round));
  std::shuffle(eligible.begin(), eligible.end(), rng);  // the first `selected` are a uniform sample
  if (options.favour_drifting) {
    std::stable_partition(eligible.begin(), eligible.end(),
                          [&](const std::string& id) { return devices.at(id).drift.drifting(); });
  }
  eligible.resize(selected);

  proto::TrainConfig train = options.train;
  if (train.codec().empty()) train.set_codec("fp32");
  strategy->ConfigureTrain(round, train);
  const proto::TrainConfig train_for_store = train;
  const absl::Time now = clock->Now();
  open.emplace(RoundOptions(round, target, std::move(train), now, now + options.round_deadline), std::move(eligible),
               BeginAggregation(target));
  if (options.store != nullptr) {
    StoredOpenRound stored{.round = round,
                           .model_version = version,
                           .target = target,
                           .opened_unix_micros = ToMicros(now),
                           .deadline_unix_micros = ToMicros(open->deadline()),
                           .selected = open->selected(),
                           .train = train_for_store};
    if (absl::Status saved = options.store->OpenRound(stored, Counters()); !saved.ok()) {
      FEDGE_LOG(ERROR) << "round " << round << " not opened: cannot store it (" << saved.message()
                       << "); retrying at the next tick";
      open.reset();
      --rounds_started;
      return;
    }
  }
  open->record().set_drift_alarms(std::exchange(drift_alarms_between_rounds, 0));
  if (options.secagg.enabled) OpenSecAgg();
  FEDGE_LOG(INFO) << "round " << round << ": opened with " << selected << " devices selected for a target of "
                  << target << " updates (" << n << " eligible)";
}

void Federation::Impl::CloseRound(std::string_view why) {
  RoundState round = std::move(*open);
  open.reset();
  // Asynchronous mode: the tasks still in training go on into the next buffer.
  std::map<std::string, RoundState::TaskState> carried;
  if (round.async()) carried = round.TakeOutstanding();
  FEDGE_LOG(INFO) << "round " << round.round() << ": closing (" << why << ")";
  last_round_replies = round.CommittedReplies();
  proto::RoundRecord record = round.FinalRecord();
  record.set_closed_unix_micros(ToMicros(clock->Now()));
  // Secure aggregation replaces the uploads: its survivors are the accepted.
  std::optional<absl::StatusOr<SecAggAggregate>> secure;
  if (options.secagg.enabled) secure = FinishSecAgg(record, round.target());
  record.set_late(round.issued() - record.accepted() - record.rejected());
  if (round.async()) FillAsyncRecord(round, record);
  const int64_t needed = std::max(options.min_quorum, strategy->min_updates());
  absl::Status outcome = absl::OkStatus();
  if (secure && !secure->ok()) {
    outcome = secure->status();
  } else if (record.accepted() < needed) {
    outcome = absl::FailedPreconditionError(
        absl::StrCat("quorum not reached: ", record.accepted(), " of the ", needed, " updates needed"));
  } else if (secure) {
    outcome = ApplyAggregate(std::move((*secure)->mean), record.accepted());
  } else {
    outcome = StepGlobalModel(round, record.accepted());
  }
  if (client_dp != nullptr) {
    absl::StatusOr<PrivacyGuarantee> spent = client_dp->Epsilon(options.client_dp_delta);
    if (spent.ok()) (*record.mutable_metrics())["client_epsilon"] = spent->epsilon;
    (*record.mutable_metrics())["client_clip_norm"] = client_dp->clip_norm();
  }
  PendingRecord closed;
  if (outcome.ok()) {
    if (round.async()) KeepServedModel();
    ++version;
    absl::Status published = PublishModel();
    if (!published.ok()) FEDGE_LOG(ERROR) << "could not sign the new model: " << published.message();
    auto due = [&](int64_t every) { return every > 0 && record.round() % static_cast<uint64_t>(every) == 0; };
    if (evaluator != nullptr && due(options.evaluate_every)) closed.model_to_evaluate = global;
    if (due(options.deploy_every)) closed.model_to_deploy = global;
  } else {
    record.set_failure(std::string(outcome.message()));
    FEDGE_LOG(WARNING) << "round " << record.round() << " failed (" << why << "): " << outcome.message()
                       << "; the global model is unchanged";
  }
  record.set_succeeded(outcome.ok());
  record.set_model_version(version);
  int64_t serving = 0;
  const uint64_t served = deployed.version();
  for (const auto& [id, entry] : devices) serving += served > 0 && entry.inference_version == served;
  if (served > 0) (*record.mutable_metrics())["devices_serving_deployed"] = static_cast<double>(serving);
  GrantExtraRoundOnDrift(record);
  if (options.store != nullptr) {
    RoundClosure closure{.round = record.round(),
                         .model = std::nullopt,
                         .pending = PendingRound{record, closed.model_to_evaluate.has_value(),
                                                 closed.model_to_deploy.has_value(), {}},
                         .counters = Counters(),
                         .devices = TakeDirtyDevices()};
    if (outcome.ok()) closure.model = StoredModel{version, signed_model, strategy->ExportState()};
    if (absl::Status saved = options.store->CloseRound(closure); !saved.ok()) {
      store_error = absl::UnavailableError(absl::StrCat(
          "the coordinator could not store the end of round ", record.round(), " (", saved.message(),
          ") and accepts no more updates; fix the state directory and restart it: it resumes from round ",
          record.round()));
      FEDGE_LOG(ERROR) << store_error.message();
    }
  }
  closed.record = std::move(record);
  pending.push_back(std::move(closed));
  // Devices go on training and uploading: the next buffer opens at once.
  if (round.async()) OpenAsyncBuffer(std::move(carried));
}

absl::Status Federation::Impl::CheckAggregate(absl::Span<const float> delta, int64_t accepted) const {
  const double norm = std::sqrt(SquaredNorm(delta));
  if (!std::isfinite(norm)) {
    return absl::DataLossError(
        "the round's aggregate is not finite (the accepted updates overflowed it); keep [federation] "
        "max_update_norm and max_examples on (their defaults) so no device can do this");
  }
  // Every strategy's aggregate lies coordinate-wise within the range of the
  // accepted updates, so its norm is at most sqrt(n) times their bound.
  // Client-level DP adds noise on purpose and is exempt.
  const double bound = options.limits.max_l2_norm * std::sqrt(static_cast<double>(accepted));
  if (client_dp == nullptr && options.limits.max_l2_norm > 0 && norm > bound * (1 + 1e-6)) {
    return absl::DataLossError(absl::StrCat("the round's aggregate has norm ", norm, ", more than the ", bound,
                                            " that ", accepted, " updates within the norm bound ",
                                            options.limits.max_l2_norm, " can produce"));
  }
  return absl::OkStatus();
}

absl::Status Federation::Impl::StepGlobalModel(RoundState& round, int64_t accepted) {
  FEDGE_ASSIGN_OR_RETURN(std::vector<float> delta, round.Finish());
  return ApplyAggregate(std::move(delta), accepted);
}

absl::Status Federation::Impl::ApplyAggregate(std::vector<float> delta, int64_t accepted) {
  FEDGE_RETURN_IF_ERROR(CheckAggregate(delta, accepted));
  std::vector<std::vector<float>> saved = strategy->ExportState();
  std::vector<float> next = global.values;
  absl::Status stepped = strategy->Apply(delta, absl::MakeSpan(next));
  if (stepped.ok() && !std::isfinite(SquaredNorm(next))) {
    stepped = absl::DataLossError(absl::StrCat("the ", AsAbsl(strategy->name()),
                                               " server step produced non-finite weights; the strategy's state is "
                                               "restored"));
  }
  if (!stepped.ok()) {
    if (absl::Status restored = strategy->ImportState(std::move(saved)); !restored.ok()) {
      FEDGE_LOG(ERROR) << "could not restore the " << strategy->name() << " state: " << restored.message();
    }
    return stepped;
  }
  global.values = std::move(next);
  return absl::OkStatus();
}

void Federation::Impl::GrantExtraRoundOnDrift(proto::RoundRecord& record) {
  int64_t drifting = 0;
  for (const auto& [id, entry] : devices) drifting += entry.drift.drifting();
  (*record.mutable_metrics())["drifting_devices"] = static_cast<double>(drifting);
  if (options.extra_round_drift_fraction <= 0 || options.max_rounds == 0 || extra_rounds >= options.max_extra_rounds ||
      drifting < options.extra_round_drift_fraction * static_cast<double>(devices.size())) {
    return;
  }
  ++extra_rounds;
  FEDGE_LOG(INFO) << "round " << record.round() << ": " << drifting << " of " << devices.size()
                  << " devices are drifting; granting extra round " << extra_rounds << " of "
                  << options.max_extra_rounds;
}

void Federation::Impl::Evaluate(PendingRecord& p) {
  if (!p.model_to_evaluate) return;
  FEDGE_LOG(INFO) << "round " << p.record.round() << ": evaluating global model v" << p.record.model_version();
  const absl::Time started = absl::Now();  // logged only; the clock may be simulated
  const double cpu_started = ThreadCpuSeconds();
  absl::StatusOr<std::map<std::string, double>> metrics = evaluator->Evaluate(*p.model_to_evaluate);
  if (!metrics.ok()) {
    FEDGE_LOG(ERROR) << "round " << p.record.round() << ": evaluation failed: " << metrics.status().message();
    return;
  }
  // bench/loopback_bench.sh reads this line (the CPU of this thread only:
  // exact when the evaluator runs single-threaded, --eval-threads 1).
  FEDGE_LOG(INFO) << "round " << p.record.round() << ": evaluated in "
                  << absl::StrFormat("%.3f", absl::ToDoubleSeconds(absl::Now() - started)) << " s, "
                  << absl::StrFormat("%.3f", ThreadCpuSeconds() - cpu_started) << " s CPU";
  for (const auto& [k, v] : *metrics) (*p.record.mutable_metrics())[k] = v;
}

void Federation::Impl::Deploy(PendingRecord& p) {
  if (!p.model_to_deploy) return;
  uint64_t parent = 0, next = 0;
  {
    absl::MutexLock lock(&mu);
    parent = p.record.model_version();
    next = deployed.version() + 1;
  }
  // Distillation takes seconds to minutes: devices keep polling meanwhile.
  FEDGE_LOG(INFO) << "round " << p.record.round() << ": deploying global model v" << parent << " as INT8 model "
                  << next;
  ModelDeployer* deployer = degrading_deployer ? degrading_deployer.get() : options.deployer;
  absl::StatusOr<Deployment> deployment = deployer->Deploy(*p.model_to_deploy, parent, next);
  auto& metrics = *p.record.mutable_metrics();
  absl::Status published = deployment.status();
  if (published.ok()) {
    absl::MutexLock lock(&mu);
    published = deployed.Publish(deployment->artifact);
    if (published.ok()) {
      deployed_parent = parent;
      if (options.store != nullptr) {
        // Stored so the deployment counter continues after a restart.
        absl::Status saved = options.store->SaveDeployment({deployed.version(), parent, deployed.artifact()});
        if (!saved.ok()) FEDGE_LOG(ERROR) << "could not store deployed model " << deployed.version() << ": " << saved;
      }
    }
  }
  if (!published.ok()) {
    FEDGE_LOG(ERROR) << "round " << p.record.round() << ": deployment of global version " << parent
                     << " failed; devices keep the deployed model " << next - 1 << ": " << published.message();
    metrics["deploy_failed"] = 1;
    return;
  }
  for (const auto& [k, v] : deployment->metrics) metrics[absl::StrCat("deploy_", k)] = v;
  metrics["deploy_artifact_bytes"] = static_cast<double>(deployment->artifact.size());
  FEDGE_LOG(INFO) << "round " << p.record.round() << ": deployed INT8 model " << next << " (from global version "
                  << parent << ", " << deployment->artifact.size() << " bytes)";
}

absl::Status Federation::PublishDeployedModel(std::string artifact) {
  absl::MutexLock lock(&impl_->mu);
  FEDGE_RETURN_IF_ERROR(impl_->deployed.Publish(std::move(artifact)));
  impl_->deployed_parent = impl_->version;
  if (impl_->options.store == nullptr) return absl::OkStatus();
  return impl_->options.store->SaveDeployment(
      {impl_->deployed.version(), impl_->version, impl_->deployed.artifact()});
}

std::vector<proto::RoundRecord> Federation::Tick() {
  Impl& s = *impl_;
  std::vector<PendingRecord> closed;
  {
    absl::MutexLock lock(&s.mu);
    if (s.open && s.secagg) {
      s.secagg->Advance(s.clock->Now());
      s.CloseIfSecAggEnded();
    }
    if (s.open && s.clock->Now() >= s.open->deadline()) {
      // Updates being checked or stored arrived before the deadline: settle
      // them first.
      s.mu.Await(absl::Condition(
          +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu) {
            return impl->being_stored == 0 && impl->being_checked == 0;
          },
          &s));
      if (s.open && s.clock->Now() >= s.open->deadline()) s.CloseRound("deadline");
    }
    closed.swap(s.pending);
    // Devices train the next round while the closed one is evaluated. After
    // a deployment instead: the next round's tasks then come with the new
    // INT8 model advertised, so devices install it before training again.
    const bool deploying = std::any_of(closed.begin(), closed.end(),
                                       [](const PendingRecord& p) { return p.model_to_deploy.has_value(); });
    if (!deploying) s.MaybeOpenRound();
  }
  // Evaluation and deployment take seconds: they run without the lock so
  // devices keep polling, training and uploading meanwhile.
  for (PendingRecord& p : closed) {
    s.Evaluate(p);
    s.Deploy(p);
    absl::MutexLock lock(&s.mu);
    p.record.set_deployed_model_version(s.deployed.version());
  }
  std::vector<proto::RoundRecord> done;
  absl::MutexLock lock(&s.mu);
  s.DriveRollout();
  for (PendingRecord& p : closed) {
    // The global model's header carries its own metrics, not the deployed
    // model's (those travel in the INT8 artifact's header).
    for (const auto& [k, v] : p.record.metrics()) {
      if (!absl::StartsWith(k, "deploy_")) s.latest_metrics[k] = v;
    }
    s.AddRolloutMetrics(p.record);
    s.completed.push_back(p.record);
    if (s.options.store != nullptr) {
      absl::Status saved = s.options.store->CompleteRound(p.record, s.Counters());
      if (!saved.ok()) FEDGE_LOG(ERROR) << "could not store the record of round " << p.record.round() << ": " << saved;
    }
    done.push_back(std::move(p.record));
  }
  if (s.options.store != nullptr && !s.dirty_devices.empty()) {
    std::vector<StoredDevice> dirty = s.TakeDirtyDevices();
    absl::Status saved = s.options.store->SaveDevices(dirty);
    if (!saved.ok()) {
      FEDGE_LOG(WARNING) << "could not store " << dirty.size() << " device records (retrying): " << saved;
      for (const StoredDevice& d : dirty) s.dirty_devices.insert(d.device_id);
    }
  }
  s.MaybeOpenRound();
  return done;
}

bool Federation::finished() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->Finished();
}

ModelParams Federation::global_model() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->global;
}

uint64_t Federation::model_version() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->version;
}

std::string Federation::signed_model() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->signed_model;
}

std::string Federation::deployed_model() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->deployed.artifact();
}

uint64_t Federation::deployed_model_version() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->deployed.version();
}

std::vector<proto::RoundRecord> Federation::rounds() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->completed;
}

int64_t Federation::round_target() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->open ? impl_->open->target() : 0;
}

std::vector<std::string> Federation::selected_devices() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->open ? impl_->open->selected() : std::vector<std::string>{};
}

}  // namespace fedge
