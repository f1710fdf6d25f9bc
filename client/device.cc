#include "client/device.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/drift_response.h"
#include "client/outbox.h"
#include "client/secagg_exchange.h"
#include "compression/codec.h"
#include "compression/encoder.h"
#include "core/artifact.h"
#include "core/file_util.h"
#include "core/layout_check.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"
#include "inference/model_slot.h"
#include "privacy/client_dp.h"
#include "privacy/privacy_ledger.h"

namespace fedge {
namespace {

constexpr char kDefaultCodec[] = "fp32";

std::string EncoderStatePath(const std::string& dir) { return dir + "/encoder.state"; }
std::string OutboxPath(const std::string& dir) { return dir + "/outbox"; }

// Scales `delta` down to L2 norm `max_norm` if it is longer (the task's
// client-level clipping hint), with the same factor the coordinator's
// client-level DP uses; returns the norm before clipping.
double ClipToNorm(std::vector<float>& delta, double max_norm) {
  const double norm = std::sqrt(SquaredNorm(delta));
  if (max_norm > 0) {
    const auto factor = static_cast<float>(ClipFactor(norm, max_norm));
    if (factor < 1) {
      for (float& v : delta) v *= factor;
    }
  }
  return norm;
}

}  // namespace

absl::Duration BackoffDelay(const RetryPolicy& policy, int retry, double u) {
  const double factor = std::pow(policy.multiplier, std::max(retry, 0)) * (1 - policy.jitter + 2 * policy.jitter * u);
  // Cap in floating point first so a large exponent cannot overflow Duration.
  const double seconds = std::min(absl::ToDoubleSeconds(policy.initial_backoff) * factor,
                                  absl::ToDoubleSeconds(policy.max_backoff));
  return absl::Seconds(seconds);
}

absl::Status ValidateRetryPolicy(const RetryPolicy& p) {
  if (p.initial_backoff < absl::ZeroDuration()) return absl::InvalidArgumentError("retry.initial_backoff must be >= 0");
  if (p.max_backoff < p.initial_backoff) {
    return absl::InvalidArgumentError("retry.max_backoff must be >= retry.initial_backoff");
  }
  if (!(p.multiplier >= 1)) return absl::InvalidArgumentError("retry.multiplier must be >= 1");
  if (!(p.jitter >= 0 && p.jitter < 1)) return absl::InvalidArgumentError("retry.jitter must be in [0, 1)");
  if (p.max_attempts < 1) return absl::InvalidArgumentError("retry.max_attempts must be >= 1");
  return absl::OkStatus();
}

absl::Status ValidateDeviceOptions(const DeviceOptions& o) {
  if (o.device_id.empty()) return absl::InvalidArgumentError("device_id must not be empty");
  if (o.download_chunk_bytes == 0) return absl::InvalidArgumentError("download_chunk_bytes must be > 0");
  if (o.upload_chunk_bytes == 0) return absl::InvalidArgumentError("upload_chunk_bytes must be > 0");
  if (o.max_model_bytes == 0) return absl::InvalidArgumentError("max_model_bytes must be > 0");
  if (!o.state_dir.empty() && !o.state_key) {
    return absl::InvalidArgumentError(
        "state_dir needs a state_key: the residual kept there derives from local data and is stored sealed");
  }
  if (o.outbox_max_records < 0) return absl::InvalidArgumentError("outbox_max_records must be >= 0");
  if (o.outbox_max_records > 0 && o.state_dir.empty()) {
    return absl::InvalidArgumentError("an outbox (outbox_max_records > 0) needs a state_dir to keep it in");
  }
  if (o.outbox_max_records > 0 && o.outbox_max_bytes == 0) {
    return absl::InvalidArgumentError("outbox_max_bytes must be > 0");
  }
  if (o.min_participation_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("min_participation_interval must be >= 0");
  }
  return ValidateRetryPolicy(o.retry);
}

Device::Device(DeviceOptions options, Transport* transport, Clock* clock, Trainer* trainer,
               VerifyKey coordinator_key)
    : options_(std::move(options)),
      transport_(transport),
      clock_(clock),
      trainer_(trainer),
      coordinator_key_(std::move(coordinator_key)),
      jitter_rng_(DeriveSeed(options_.seed, /*stream=*/0x6a6974746572ULL)) {}

Device::~Device() = default;

absl::StatusOr<std::unique_ptr<Device>> Device::Create(DeviceOptions options, Transport* transport, Clock* clock,
                                                       Trainer* trainer, VerifyKey coordinator_key) {
  FEDGE_RETURN_IF_ERROR(ValidateDeviceOptions(options));
  if (transport == nullptr || clock == nullptr || trainer == nullptr) {
    return absl::InvalidArgumentError("device: transport, clock and trainer must not be null");
  }
  return std::make_unique<Device>(std::move(options), transport, clock, trainer, std::move(coordinator_key));
}

DeviceCounters Device::counters() const {
  absl::MutexLock lock(&counters_mu_);
  return counters_;
}

void Device::Count(uint64_t DeviceCounters::*counter, uint64_t n) {
  absl::MutexLock lock(&counters_mu_);
  counters_.*counter += n;
}

absl::Status Device::WithRetry(std::string_view what, absl::FunctionRef<absl::Status()> attempt) {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  for (int tries = 1;; ++tries) {
    absl::Status status = attempt();
    if (status.ok() || !IsTransient(status)) return status;
    if (tries >= options_.retry.max_attempts) {
      return absl::Status(status.code(), absl::StrCat(AsAbsl(what), " failed ", tries,
                                                      " times; last error: ", status.message()));
    }
    Count(&DeviceCounters::retries);
    const absl::Duration delay = BackoffDelay(options_.retry, tries - 1, uniform(jitter_rng_));
    FEDGE_LOG(DEBUG) << options_.device_id << ": " << what << ": " << status << "; retrying in " << delay;
    clock_->SleepFor(delay);
  }
}

absl::Status Device::Register() {
  proto::RegisterRequest request;
  proto::DeviceInfo* info = request.mutable_device();
  info->set_device_id(options_.device_id);
  info->set_num_examples(options_.num_examples > 0 ? options_.num_examples : trainer_->num_examples());
  for (const auto& [key, value] : options_.attributes) (*info->mutable_attributes())[key] = value;
  FEDGE_RETURN_IF_ERROR(WithRetry("Register", [&]() { return transport_->Register(request).status(); }));
  registered_ = true;
  return absl::OkStatus();
}

Eligibility Device::CurrentEligibility() const {
  if (!budget_refusal_.empty()) return {.eligible = false, .reason = budget_refusal_};
  const absl::Duration interval = options_.min_participation_interval;
  if (interval > absl::ZeroDuration() && last_participation_) {
    const absl::Duration since = clock_->Now() - *last_participation_;
    if (since < interval) {
      return {.eligible = false,
              .reason = absl::StrCat("participated ", absl::FormatDuration(since), " ago; minimum separation ",
                                     absl::FormatDuration(interval))};
    }
  }
  return options_.eligibility ? options_.eligibility() : Eligibility{};
}

absl::StatusOr<StepResult> Device::RunOnce() {
  FEDGE_ASSIGN_OR_RETURN(StepResult step, PrepareStep());
  step = FinishStep(std::move(step));
  // A secure-aggregation task waits for the cohort at every stage.
  while (step.waiting) {
    clock_->SleepFor(step.retry_after);
    step = FinishStep(std::move(step));
  }
  return step;
}

absl::StatusOr<StepResult> Device::PrepareStep() {
  if (pending_) {
    return absl::FailedPreconditionError(absl::StrCat("the update for task ", pending_->task.task_id(),
                                                      " still waits for FinishStep"));
  }
  if (!registered_) FEDGE_RETURN_IF_ERROR(Register());
  // Kept updates first: one still usable must not wait behind new work. If
  // they cannot go (a link too poor for uploads), the device still takes
  // new work: it is kept too, within the outbox's bounds.
  // Logged when an outage begins or the backlog changes, then once a minute:
  // a step is tried about every second while the link is down.
  if (absl::Status delivered = DeliverOutbox(); !delivered.ok()) {
    const absl::Time now = clock_->Now();
    const size_t waiting = outbox_ != nullptr ? outbox_->size() : 0;
    if (outbox_notice_.ShouldLog(now, waiting)) {
      FEDGE_LOG(INFO) << options_.device_id << ": " << waiting << " kept updates not sent yet (failing for "
                      << outbox_notice_.outage(now) << ", " << outbox_notice_.skipped()
                      << " failed attempts not logged since the last notice): " << delivered.message();
    }
  } else if (std::optional<absl::Duration> outage = outbox_notice_.End(clock_->Now())) {
    FEDGE_LOG(INFO) << options_.device_id << ": no kept updates waiting any more, after " << *outage
                    << " of failed deliveries";
  }
  proto::PollTaskRequest request;
  request.set_device_id(options_.device_id);
  Eligibility eligibility = CurrentEligibility();
  request.set_eligible(eligibility.eligible);
  if (!eligibility.eligible) request.set_ineligible_reason(eligibility.reason);

  proto::PollTaskResponse response;
  absl::Status polled = WithRetry("PollTask", [&]() {
    FEDGE_ASSIGN_OR_RETURN(response, transport_->PollTask(request));
    return absl::OkStatus();
  });
  Count(&DeviceCounters::polls);
  if (absl::IsNotFound(polled)) registered_ = false;  // the coordinator forgot us: register again next time
  FEDGE_RETURN_IF_ERROR(polled);

  RefreshInferenceModel(response.deployed_model_version());
  StepResult step;
  if (!response.has_task()) {
    step.retry_after = absl::Milliseconds(std::max<int64_t>(response.retry_after_millis(), 0));
    return step;
  }
  step.had_task = true;
  step.task_id = response.task().task_id();
  step.round = response.task().round();
  absl::StatusOr<std::optional<PendingUpload>> prepared = PrepareTask(response.task());
  if (!prepared.ok()) {
    step.task_status = prepared.status();
  } else if (prepared->has_value()) {
    pending_ = **std::move(prepared);
    step.pending_upload_bytes = pending_->bytes.size();
    step.secure_aggregation = pending_->secagg != nullptr;
  }
  return step;
}

StepResult Device::FinishStep(StepResult step) {
  step.waiting = false;
  if (pending_ && pending_->secagg) {
    step.task_status = AdvanceSecAgg(step);
    if (step.waiting) return step;
    pending_.reset();
  } else if (pending_) {
    step.task_status = DeliverUpdate(*pending_);
    pending_.reset();
    step.pending_upload_bytes = 0;
  }
  if (!step.had_task) return step;
  if (step.task_status.ok()) {
    Count(&DeviceCounters::tasks_done);
    last_participation_ = clock_->Now();
  } else {
    Count(&DeviceCounters::tasks_failed);
    FEDGE_LOG(WARNING) << options_.device_id << ": task " << step.task_id << " (round " << step.round
                       << ") failed: " << step.task_status;
  }
  return step;
}

absl::Status Device::CheckPrivacyBudget(const proto::Task& task) {
  absl::StatusOr<std::optional<SgmEvent>> planned = trainer_->PlanPrivacy(task.train());
  if (!planned.ok()) return planned.status();
  if (!planned->has_value()) return absl::OkStatus();
  if (!options_.privacy_ledger_refusal.empty()) {
    budget_refusal_ = options_.privacy_ledger_refusal;
    return absl::FailedPreconditionError(budget_refusal_);
  }
  const double federation_budget = task.train().dp_epsilon_budget();
  PrivacyLedger* ledger = options_.privacy_ledger;
  if (ledger == nullptr) {
    if (federation_budget <= 0) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("the federation sets a lifetime privacy budget (epsilon ", federation_budget,
                     ") but this device keeps no privacy ledger to enforce it; set [dp] ledger (--privacy-ledger)"));
  }
  const double budget =
      federation_budget > 0 ? std::min(federation_budget, ledger->budget().epsilon) : ledger->budget().epsilon;
  const SgmEvent& e = **planned;
  FEDGE_ASSIGN_OR_RETURN(double epsilon, ledger->EpsilonIfSpent(e.sample_rate, e.noise_multiplier, e.steps));
  if (epsilon <= budget) return absl::OkStatus();
  // Refused once, refused for good: the device says why at every poll.
  budget_refusal_ = absl::StrCat("privacy budget exhausted: a task would bring epsilon from ", ledger->Epsilon(),
                                 " to ", epsilon, ", above the lifetime budget of ", budget, " at delta ",
                                 ledger->budget().delta);
  return absl::ResourceExhaustedError(budget_refusal_);
}

absl::StatusOr<std::optional<Device::PendingUpload>> Device::PrepareTask(const proto::Task& task) {
  // The task's update may already be kept (the link came back for the poll
  // but not for the delivery before it): send that rather than train again.
  if (Outbox* box = outbox(); box != nullptr) {
    std::optional<StoredOutboxRecord> kept = box->Find(task.task_id());
    CountDiscarded();  // an altered record is met here when the delivery before the poll failed
    if (kept) {
      FEDGE_ASSIGN_OR_RETURN(bool delivered, DeliverKept(*kept));
      if (delivered) return std::nullopt;
    }
  }
  std::map<std::string, double> failure{{"task_failed", 1}};
  if (absl::Status budget = CheckPrivacyBudget(task); !budget.ok()) {
    failure["privacy_budget_refused"] = absl::IsResourceExhausted(budget);
    ReportMetrics(std::move(failure));
    return budget;
  }
  if (task.task_id().empty()) return absl::InvalidArgumentError("task without a task_id");
  absl::StatusOr<std::string> model =
      DownloadArtifact(proto::ARTIFACT_GLOBAL_MODEL, task.model_version(), task.model_size_bytes());
  if (!model.ok()) {
    ReportMetrics(std::move(failure));
    return model.status();
  }
  absl::StatusOr<ModelParams> global = OpenModel(task, *model);
  if (!global.ok()) {
    Count(&DeviceCounters::artifacts_rejected);
    failure["artifact_rejected"] = 1;
    ReportMetrics(std::move(failure));
    return global.status();
  }
  // The one line between the download and the upload: operators (and the
  // partition test) see the device holds the model and trains offline.
  FEDGE_LOG(INFO) << options_.device_id << ": training task " << task.task_id() << " (round " << task.round()
                  << ") from global model v" << task.model_version();
  const uint64_t task_seed = DeriveSeed(options_.seed, task.round());
  absl::StatusOr<TrainResult> trained = trainer_->Train(*global, task.train(), task_seed);
  if (!trained.ok()) {
    failure["training_interrupted"] = absl::IsAborted(trained.status());
    ReportMetrics(std::move(failure));
    return trained.status();
  }
  // bench/loopback_bench.sh reads this line: training CPU vs round wall time.
  if (const auto wall = trained->metrics.find("train_seconds"); wall != trained->metrics.end()) {
    FEDGE_LOG(INFO) << options_.device_id << ": trained task " << task.task_id() << " (round " << task.round()
                    << ") in " << absl::StrFormat("%.3f", wall->second) << " s, "
                    << absl::StrFormat("%.3f", trained->train_cpu_seconds) << " s CPU";
  }

  if (trained->privacy && options_.privacy_ledger != nullptr) {
    // Charged before anything derived from the data leaves the device.
    const SgmEvent& e = *trained->privacy;
    absl::Status charged = options_.privacy_ledger->Charge(e.sample_rate, e.noise_multiplier, e.steps);
    if (!charged.ok()) {
      ReportMetrics(std::move(failure));
      return charged;
    }
  }
  std::vector<float> delta(trained->local.values.size());
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = trained->local.values[i] - global->values[i];
  const double norm = ClipToNorm(delta, task.train().update_clip_norm());
  if (task.has_secagg()) {
    absl::StatusOr<PendingUpload> secure =
        PrepareSecAgg(task, std::move(delta), model->size(), DeriveSeed(task_seed, /*stream=*/2));
    if (!secure.ok()) {
      ReportMetrics(std::move(failure));
      return secure.status();
    }
    return std::optional<PendingUpload>(*std::move(secure));
  }

  proto::EncodedUpdate update;
  update.set_round(task.round());
  update.set_task_id(task.task_id());
  update.set_base_version(task.model_version());
  update.set_layout_id(global->layout.id());
  update.set_num_elements(delta.size());
  update.set_codec(task.train().codec().empty() ? kDefaultCodec : task.train().codec());
  absl::StatusOr<std::string> payload = EncodeDelta(update.codec(), delta, DeriveSeed(task_seed, /*stream=*/2));
  if (!payload.ok()) {
    ReportMetrics(std::move(failure));
    return payload.status();
  }
  update.set_payload(*std::move(payload));
  update.set_num_examples(trained->num_examples);
  for (const auto& [name, value] : trained->metrics) (*update.mutable_metrics())[name] = value;
  (*update.mutable_metrics())["update_norm"] = norm;
  if (trained->privacy) {
    proto::PrivacySpend* spend = update.mutable_privacy();
    spend->set_noise_multiplier(trained->privacy->noise_multiplier);
    spend->set_sample_rate(trained->privacy->sample_rate);
    spend->set_steps(trained->privacy->steps);
    if (options_.privacy_ledger != nullptr) {
      spend->set_epsilon_total(options_.privacy_ledger->Epsilon());
      spend->set_delta(options_.privacy_ledger->budget().delta);
    }
  }

  if (task.deadline_unix_micros() > 0 && absl::ToUnixMicros(clock_->Now()) > task.deadline_unix_micros()) {
    SettleEncoder(/*delivered=*/false);
    ReportMetrics(std::move(failure));
    return absl::DeadlineExceededError("the task's deadline passed during training; the update was not sent");
  }
  return PendingUpload{
      .task = task, .bytes = update.SerializeAsString(), .model_bytes = model->size(), .secagg = nullptr};
}

absl::Status Device::DeliverUpdate(const PendingUpload& pending) {
  absl::Status uploaded = UploadUpdate(pending.task.task_id(), pending.bytes);
  if (!uploaded.ok() && IsTransient(uploaded) && KeepInOutbox(pending.task, pending.bytes)) {
    return absl::Status(uploaded.code(), absl::StrCat(uploaded.message(),
                                                      "; the update is kept in the outbox until the link returns"));
  }
  SettleEncoder(uploaded.ok());
  if (!uploaded.ok()) {
    ReportMetrics({{"task_failed", 1}});
    return uploaded;
  }
  // The training metrics travelled once, in the update; the report adds
  // what only the device knows about the task's traffic.
  ReportMetrics({{"model_bytes", static_cast<double>(pending.model_bytes)},
                 {"update_bytes", static_cast<double>(pending.bytes.size())}});
  return absl::OkStatus();
}

void Device::RefreshInferenceModel(uint64_t advertised) {
  ModelSlot* slot = options_.inference_slot;
  if (slot == nullptr || advertised == 0 || advertised == refused_deployed_version_) return;
  const uint64_t active = slot->active_version().value_or(0);
  if (advertised == active) return;
  if (advertised < active) {
    ReturnToInferenceModel(advertised);
    return;
  }
  absl::StatusOr<std::string> bytes = DownloadArtifact(proto::ARTIFACT_DEPLOYED_MODEL, advertised, 0);
  if (!bytes.ok()) {  // e.g. replaced meanwhile or unreachable: the next poll tries again
    FEDGE_LOG(WARNING) << options_.device_id << ": could not download deployed model " << advertised << ": "
                       << bytes.status();
    return;
  }
  absl::Status installed = slot->Install(*bytes);
  if (!installed.ok()) {
    refused_deployed_version_ = advertised;
    Count(&DeviceCounters::artifacts_rejected);
    FEDGE_LOG(WARNING) << options_.device_id << ": refused deployed model " << advertised
                       << "; still serving version " << slot->active_version().value_or(0) << ": " << installed;
    const bool refused = absl::IsPermissionDenied(installed) || absl::IsFailedPrecondition(installed);
    NoteModelHealth(advertised, refused ? proto::MODEL_HEALTH_REFUSED : proto::MODEL_HEALTH_LOAD_FAILED,
                    std::string(installed.message()));
    return;
  }
  Count(&DeviceCounters::inference_installs);
  FEDGE_LOG(INFO) << options_.device_id << ": now serving deployed model " << advertised;
  CheckInstalledModel(advertised);
}

void Device::CheckInstalledModel(uint64_t version) {
  ModelSlot* slot = options_.inference_slot;
  absl::StatusOr<std::optional<double>> accuracy = std::optional<double>();
  if (options_.inference_health_check) accuracy = options_.inference_health_check(slot->Acquire());
  std::string failure;
  if (!accuracy.ok()) {
    failure = absl::StrCat("inference failed: ", accuracy.status().message());
  } else if (accuracy->has_value() && **accuracy < options_.inference_min_accuracy) {
    failure = absl::StrFormat("held-back accuracy %.3f < %.3f", **accuracy, options_.inference_min_accuracy);
  }
  const std::optional<double> measured = accuracy.ok() ? *accuracy : std::nullopt;
  if (failure.empty()) {
    FEDGE_LOG(INFO) << options_.device_id << ": deployed model " << version << " passed its health check"
                    << (measured ? absl::StrFormat(" (held-back accuracy %.3f)", *measured) : std::string());
    NoteModelHealth(version, proto::MODEL_HEALTH_OK, "", measured);
    return;
  }
  refused_deployed_version_ = version;
  Count(&DeviceCounters::inference_rollbacks);
  absl::Status back = slot->Rollback();
  FEDGE_LOG(WARNING) << options_.device_id << ": deployed model " << version << " failed its health check ("
                     << failure << "); "
                     << (back.ok() ? absl::StrCat("rolled back to version ", slot->active_version().value_or(0))
                                   : absl::StrCat("no previous model to return to: ", back.message()));
  NoteModelHealth(version, proto::MODEL_HEALTH_CHECK_FAILED, failure, measured);
}

void Device::ReturnToInferenceModel(uint64_t version) {
  ModelSlot* slot = options_.inference_slot;
  const uint64_t from = slot->active_version().value_or(0);
  absl::Status back;
  if (slot->previous_version() == version) {
    back = slot->Rollback();
  } else {
    absl::StatusOr<std::string> bytes = DownloadArtifact(proto::ARTIFACT_DEPLOYED_MODEL, version, 0);
    back = bytes.ok() ? slot->Install(*bytes, InstallMode::kForce) : bytes.status();
  }
  if (!back.ok()) {
    FEDGE_LOG(WARNING) << options_.device_id << ": could not return to deployed model " << version
                       << " (the coordinator rolled back " << from << "); retrying on the next poll: " << back;
    return;
  }
  Count(&DeviceCounters::inference_rollbacks);
  FEDGE_LOG(INFO) << options_.device_id << ": the coordinator rolled back deployed model " << from
                  << "; serving version " << version << " again";
  NoteModelHealth(version, proto::MODEL_HEALTH_OK, absl::StrCat("returned from version ", from));
}

void Device::NoteModelHealth(uint64_t version, proto::ModelHealthOutcome outcome, std::string detail,
                             std::optional<double> accuracy) {
  model_health_.Clear();
  model_health_.set_version(version);
  model_health_.set_outcome(outcome);
  if (detail.size() > 200) detail.resize(200);  // the coordinator keeps at most 200 bytes
  model_health_.set_detail(std::move(detail));
  if (accuracy) {
    model_health_.set_has_accuracy(true);
    model_health_.set_accuracy(*accuracy);
  }
  // The rollout waits for this report: send it now, not after the next task.
  ReportMetrics(last_metrics_);
}

absl::StatusOr<std::string> Device::DownloadArtifact(proto::ArtifactKind kind, uint64_t version,
                                                     uint64_t expected_size) {
  if (expected_size > options_.max_model_bytes) {
    return absl::FailedPreconditionError(absl::StrCat("the model is ", expected_size,
                                                      " bytes, above this device's limit of ",
                                                      options_.max_model_bytes));
  }
  std::string bytes;
  uint64_t total = expected_size;
  proto::DownloadRequest request;
  request.set_device_id(options_.device_id);
  request.set_artifact(kind);
  request.set_model_version(version);
  request.set_max_bytes(options_.download_chunk_bytes);
  // The offset only advances on a good chunk, so a retry resumes where the
  // transfer stopped rather than starting over.
  while (total == 0 || bytes.size() < total) {
    request.set_offset(bytes.size());
    proto::DownloadResponse chunk;
    FEDGE_RETURN_IF_ERROR(WithRetry("Download", [&]() {
      FEDGE_ASSIGN_OR_RETURN(chunk, transport_->Download(request));
      return absl::OkStatus();
    }));
    if (chunk.offset() != bytes.size()) {
      return absl::InternalError(absl::StrCat("coordinator answered offset ", chunk.offset(), " for a request at ",
                                              bytes.size()));
    }
    if (total == 0) total = chunk.total_size();
    if (chunk.total_size() != total || total == 0 || total > options_.max_model_bytes) {
      return absl::InternalError(absl::StrCat("coordinator sent an inconsistent model size (", chunk.total_size(),
                                              " bytes; expected ", total, ")"));
    }
    if (chunk.data().empty() || bytes.size() + chunk.data().size() > total) {
      return absl::InternalError(absl::StrCat("coordinator sent a chunk of ", chunk.data().size(),
                                              " bytes at offset ", bytes.size(), " of ", total));
    }
    bytes += chunk.data();
    Count(&DeviceCounters::bytes_down, chunk.data().size());
  }
  return bytes;
}

absl::StatusOr<ModelParams> Device::OpenModel(const proto::Task& task, std::string_view bytes) {
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, OpenArtifact(bytes, coordinator_key_));
  const proto::ArtifactHeader& header = body.header();
  if (header.architecture() != task.architecture() || header.architecture() != trainer_->architecture()) {
    return absl::InvalidArgumentError(absl::StrCat("model architecture '", header.architecture(), "' (task: '",
                                                   task.architecture(), "') is not this device's '",
                                                   trainer_->architecture(), "'"));
  }
  if (header.version() != task.model_version()) {
    return absl::InvalidArgumentError(absl::StrCat("downloaded model version ", header.version(),
                                                   " is not the task's version ", task.model_version()));
  }
  FEDGE_ASSIGN_OR_RETURN(ModelParams params, ParamsFromBody(body));
  FEDGE_RETURN_IF_ERROR(CheckSameLayout(trainer_->layout(), params.layout,
                                        "the global model does not fit this device's model",
                                        "this device's model", "the global model"));
  return params;
}

absl::StatusOr<std::string> Device::EncodeDelta(const std::string& codec, const std::vector<float>& delta,
                                                uint64_t seed) {
  // One encoder is kept across tasks so error-feedback codecs carry their
  // residual into the next update; a new codec or model size starts afresh.
  const int64_t n = static_cast<int64_t>(delta.size());
  if (encoder_ == nullptr || encoder_codec_ != codec || encoder_->num_elements() != n) {
    absl::StatusOr<std::unique_ptr<UpdateEncoder>> encoder = OpenEncoder(codec, n);
    if (!encoder.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the task's update codec '", codec, "' is unusable: ", encoder.status().message()));
    }
    encoder_ = *std::move(encoder);
    encoder_codec_ = codec;
  }
  SeededRandom rng(seed);
  return encoder_->Encode(delta, rng);
}

absl::StatusOr<std::unique_ptr<UpdateEncoder>> Device::OpenEncoder(const std::string& codec, int64_t num_elements) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<UpdateEncoder> encoder, UpdateEncoder::Create(codec, num_elements));
  if (options_.state_dir.empty()) return encoder;
  absl::StatusOr<std::string> sealed = ReadFile(EncoderStatePath(options_.state_dir));
  if (!sealed.ok()) return encoder;  // nothing saved yet
  absl::StatusOr<std::string> saved = Unseal(*options_.state_key, EncoderStateContext(), *sealed);
  if (!saved.ok()) {
    FEDGE_LOG(WARNING) << options_.device_id << ": discarding the saved error-feedback residual: " << saved.status();
    return encoder;
  }
  const std::string prefix = codec + "\n";
  if (!absl::StartsWith(*saved, prefix)) return encoder;  // saved for another codec
  absl::Status restored = encoder->RestoreState(std::string_view(*saved).substr(prefix.size()));
  if (!restored.ok()) {
    FEDGE_LOG(WARNING) << options_.device_id << ": discarding the saved error-feedback residual: " << restored;
  }
  return encoder;
}

std::string Device::EncoderStateContext() const { return absl::StrCat("fedge encoder state/", options_.device_id); }

void Device::SettleEncoder(bool delivered) {
  if (encoder_ == nullptr) return;
  if (!delivered) {
    encoder_->RevertLastEncode();
    return;
  }
  PersistEncoder();
}

void Device::PersistEncoder() {
  if (encoder_ == nullptr || options_.state_dir.empty()) return;
  absl::StatusOr<std::string> sealed =
      Seal(*options_.state_key, EncoderStateContext(), encoder_codec_ + "\n" + encoder_->SaveState());
  absl::Status saved = sealed.ok() ? WriteFileAtomically(EncoderStatePath(options_.state_dir), *sealed) : sealed.status();
  if (!saved.ok()) FEDGE_LOG(WARNING) << options_.device_id << ": could not persist the residual: " << saved;
}

Outbox* Device::outbox() {
  if (outbox_ != nullptr || outbox_failed_ || options_.outbox_max_records == 0) return outbox_.get();
  absl::StatusOr<std::unique_ptr<Outbox>> opened =
      Outbox::Open({.dir = OutboxPath(options_.state_dir),
                    .max_records = options_.outbox_max_records,
                    .max_bytes = options_.outbox_max_bytes},
                   options_.device_id, *options_.state_key);
  if (!opened.ok()) {
    outbox_failed_ = true;
    FEDGE_LOG(ERROR) << options_.device_id << ": no outbox, updates that cannot be sent are dropped: "
                     << opened.status();
    return nullptr;
  }
  outbox_ = *std::move(opened);
  if (outbox_->size() > 0) {
    FEDGE_LOG(INFO) << options_.device_id << ": " << outbox_->size() << " kept updates in " << outbox_->dir();
  }
  return outbox_.get();
}

bool Device::KeepInOutbox(const proto::Task& task, const std::string& bytes) {
  Outbox* box = outbox();
  if (box == nullptr) return false;
  absl::StatusOr<std::vector<OutboxRecord>> evicted = box->Put(
      {.header = {.round = task.round(), .model_version = task.model_version(), .task_id = task.task_id(),
                  .sealed_at = clock_->Now()},
       .update = bytes});
  CountDiscarded();
  if (!evicted.ok()) {
    FEDGE_LOG(WARNING) << options_.device_id << ": could not keep the update for task " << task.task_id()
                       << ": " << evicted.status();
    return false;
  }
  // The kept update carries its mass: the residual after encoding stands.
  SettleEncoder(/*delivered=*/true);
  Count(&DeviceCounters::outbox_kept);
  FEDGE_LOG(INFO) << options_.device_id << ": kept the update for task " << task.task_id() << " in the outbox";
  for (const OutboxRecord& old : *evicted) ReturnToResidual(old.update);
  Count(&DeviceCounters::outbox_evicted, evicted->size());
  return true;
}

void Device::CountDiscarded() {
  if (outbox_ == nullptr) return;
  absl::MutexLock lock(&counters_mu_);
  counters_.outbox_discarded = outbox_->stats().discarded;
}

absl::Status Device::DeliverOutbox() {
  Outbox* box = outbox();
  if (box == nullptr) return absl::OkStatus();
  absl::Status status;
  while (std::optional<StoredOutboxRecord> kept = box->Oldest()) {
    absl::StatusOr<bool> sent = DeliverKept(*kept);
    if (!sent.ok()) {
      status = sent.status();
      break;
    }
    if (*sent) {  // outside a task: RunOnce does not count it
      Count(&DeviceCounters::tasks_done);
      last_participation_ = clock_->Now();
    }
  }
  CountDiscarded();
  return status;
}

absl::StatusOr<bool> Device::DeliverKept(const StoredOutboxRecord& kept) {
  const OutboxHeader& header = kept.record.header;
  absl::Status sent = UploadUpdate(header.task_id, kept.record.update);
  if (IsTransient(sent)) return sent;
  if (sent.ok()) {
    Count(&DeviceCounters::outbox_delivered);
  } else {
    // Another round by now, or refused: the mass goes into a later update.
    FEDGE_LOG(INFO) << options_.device_id << ": the coordinator no longer takes the kept update for task "
                    << header.task_id << " (round " << header.round << "): " << sent.message();
    ReturnToResidual(kept.record.update);
    Count(&DeviceCounters::outbox_refused);
  }
  FEDGE_RETURN_IF_ERROR(outbox_->Remove(kept.sequence));
  return sent.ok();
}

void Device::ReturnToResidual(const std::string& bytes) {
  proto::EncodedUpdate update;
  if (!update.ParseFromString(bytes)) return;  // our own bytes, authenticated: cannot happen
  const int64_t n = static_cast<int64_t>(update.num_elements());
  if (encoder_ == nullptr || encoder_codec_ != update.codec() || encoder_->num_elements() != n) {
    absl::StatusOr<std::unique_ptr<UpdateEncoder>> encoder = OpenEncoder(update.codec(), n);
    if (!encoder.ok()) return;  // a codec this device no longer uses: nothing to return it to
    encoder_ = *std::move(encoder);
    encoder_codec_ = update.codec();
  }
  if (absl::Status returned = encoder_->ReturnUndelivered(update.payload()); !returned.ok()) {
    FEDGE_LOG(WARNING) << options_.device_id << ": could not return an undelivered update to the residual: "
                       << returned;
    return;
  }
  PersistEncoder();
}

absl::Status Device::UploadUpdate(const std::string& task_id, const std::string& bytes) {
  proto::UploadRequest request;
  request.set_device_id(options_.device_id);
  request.set_task_id(task_id);
  request.set_total_size(bytes.size());
  // The first chunk tells what the update is, so a stale one is refused
  // before the rest is sent.
  proto::EncodedUpdate update;
  const bool parsed = update.ParseFromString(bytes);
  uint64_t offset = 0;
  int stalled = 0;  // answers that did not advance the acknowledged offset
  while (true) {
    const uint64_t len = std::min<uint64_t>(options_.upload_chunk_bytes, bytes.size() - offset);
    if (offset == 0 && parsed) {
      *request.mutable_header() = UpdateHeaderOf(update);
    } else {
      request.clear_header();
    }
    request.set_offset(offset);
    request.set_data(bytes.substr(offset, len));
    request.set_final(offset + len == bytes.size());
    proto::UploadResponse response;
    FEDGE_RETURN_IF_ERROR(WithRetry("Upload", [&]() {
      FEDGE_ASSIGN_OR_RETURN(response, transport_->Upload(request));
      // Counted once answered: an attempt that never reached the
      // coordinator (the link down) sent it nothing.
      Count(&DeviceCounters::bytes_up, len);
      return absl::OkStatus();
    }));
    if (response.accepted()) {
      FEDGE_LOG(INFO) << options_.device_id << ": update for task " << task_id << " acknowledged";
      return absl::OkStatus();
    }
    if (response.committed_offset() > bytes.size()) {
      return absl::InternalError(absl::StrCat("coordinator acknowledged ", response.committed_offset(),
                                              " bytes of a ", bytes.size(), "-byte update"));
    }
    if (request.final() && response.committed_offset() == bytes.size()) {
      return absl::InternalError(absl::StrCat("coordinator received the whole update but did not accept it: ",
                                              response.detail()));
    }
    // Resume from what the coordinator holds, which may be behind what was
    // sent (a lost chunk) or ahead of it (a retry of an acknowledged range).
    stalled = response.committed_offset() > offset ? 0 : stalled + 1;
    if (stalled >= options_.retry.max_attempts) {
      return absl::UnavailableError(absl::StrCat("upload made no progress past offset ", offset, " after ", stalled,
                                                 " chunks: ", response.detail()));
    }
    offset = response.committed_offset();
  }
}

void Device::AddDeviceState(proto::DeviceReport& report) const {
  if (options_.privacy_ledger != nullptr) report.set_epsilon_spent(options_.privacy_ledger->Epsilon());
  if (options_.inference_slot != nullptr) {
    report.set_inference_model_version(options_.inference_slot->active_version().value_or(0));
    if (model_health_.version() > 0) *report.mutable_model_health() = model_health_;
  }
  if (options_.service_metrics) {
    for (const auto& [name, value] : options_.service_metrics()) report.mutable_metrics()->insert({name, value});
  }
}

absl::Status Device::ReportDrift(absl::Span<const proto::DriftAlarm> alarms) {
  if (alarms.empty()) return absl::OkStatus();
  proto::DeviceReport report = MakeDriftReport(options_.device_id, alarms, last_metrics_);
  AddDeviceState(report);
  return WithRetry("Report", [&]() { return transport_->Report(report).status(); });
}

void Device::ReportMetrics(std::map<std::string, double> metrics) {
  proto::DeviceReport report;
  report.set_device_id(options_.device_id);
  for (const auto& [name, value] : metrics) (*report.mutable_metrics())[name] = value;
  last_metrics_ = std::move(metrics);
  AddDeviceState(report);
  // A lost report costs the coordinator a statistic, not the task: log only.
  absl::Status status = WithRetry("Report", [&]() { return transport_->Report(report).status(); });
  if (!status.ok()) FEDGE_LOG(WARNING) << options_.device_id << ": report not delivered: " << status;
}

absl::Status Device::Run(const RunLimits& limits) {
  int64_t idle = 0;
  int64_t failures = 0;
  // Accepted updates, counted from the counters so that a kept update the
  // outbox delivers later counts like one sent at once.
  const uint64_t done_before = counters().tasks_done;
  const auto limit_reached = [&] {
    return limits.max_tasks > 0 && counters().tasks_done - done_before >= static_cast<uint64_t>(limits.max_tasks);
  };
  absl::Status last_error;
  while (!(limits.stop && limits.stop())) {
    if (limits.before_poll) FEDGE_RETURN_IF_ERROR(limits.before_poll());
    absl::StatusOr<StepResult> step = RunOnce();
    if (absl::IsFailedPrecondition(step.status())) {
      FEDGE_LOG(INFO) << options_.device_id << ": coordinator has no more work: " << step.status().message();
      return absl::OkStatus();
    }
    if (limit_reached()) return absl::OkStatus();
    if (absl::IsPermissionDenied(step.status())) {
      // The coordinator refused this device itself (revoked, awaiting
      // approval, a certificate that is not its own): retrying cannot help.
      return step.status();
    }
    const absl::Status error = step.ok() ? step->task_status : step.status();
    if (!error.ok()) {
      last_error = error;
      // With an outbox the device outlasts an outage: what it trains is
      // kept, so only errors that are answers end the loop.
      const bool outage = IsTransient(error) && options_.outbox_max_records > 0;
      if (!outage && limits.max_consecutive_failures > 0 && ++failures >= limits.max_consecutive_failures) {
        return last_error;
      }
      // A failed poll has already exhausted its retries; wait before trying again.
      if (!step.ok()) clock_->SleepFor(BackoffDelay(options_.retry, options_.retry.max_attempts, 0.5));
      continue;
    }
    failures = 0;
    if (step->had_task) {
      idle = 0;
      continue;
    }
    if (limits.max_idle_polls > 0 && ++idle >= limits.max_idle_polls) return absl::OkStatus();
    // A zero retry_after would make the device hammer the coordinator.
    clock_->SleepFor(std::max(step->retry_after, options_.retry.initial_backoff));
  }
  return absl::OkStatus();
}

}  // namespace fedge
