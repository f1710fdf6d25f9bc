// The site devices' side of the Gateway: the device protocol served from the
// open site round (gateway/gateway.h).
#include "gateway/gateway.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/status.h"
#include "gateway/gateway_impl.h"

namespace fedge {

absl::Status ValidateGatewayOptions(const GatewayOptions& options) {
  if (options.gateway_id.empty()) {
    return absl::InvalidArgumentError("gateway_id is empty: name the gateway as its client certificate does");
  }
  if (options.min_devices < 1) return absl::InvalidArgumentError("[gateway] min_devices must be at least 1");
  if (options.site_quorum < 1) return absl::InvalidArgumentError("[gateway] site_quorum must be at least 1");
  if (options.site_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("[gateway] site_deadline_s must be positive");
  }
  if (options.forward_margin < absl::ZeroDuration() || options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("[gateway] forward_margin_s must not be negative and poll_interval_ms positive");
  }
  if (options.chunk_bytes < 1024) return absl::InvalidArgumentError("the gateway's chunk size must be at least 1 KiB");
  return ValidateUpdateLimits(options.limits);
}

GatewayOptions GatewayOptionsFrom(const GatewaySettings& settings, std::string gateway_id) {
  GatewayOptions options;
  options.gateway_id = std::move(gateway_id);
  options.min_devices = settings.min_devices;
  options.site_quorum = settings.site_quorum;
  options.site_deadline = absl::Seconds(settings.site_deadline_s);
  options.forward_margin = absl::Seconds(settings.forward_margin_s);
  return options;
}

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Create(GatewayOptions options, Transport* upstream,
                                                         VerifyKey coordinator_key, Clock* clock) {
  FEDGE_RETURN_IF_ERROR(ValidateGatewayOptions(options));
  if (upstream == nullptr || clock == nullptr) return absl::InvalidArgumentError("upstream and clock are required");
  auto impl = std::make_unique<Impl>(std::move(options), upstream, std::move(coordinator_key), clock);
  if (!impl->options.state_dir.empty()) {
    absl::MutexLock lock(&impl->mu);
    FEDGE_RETURN_IF_ERROR(impl->ResumeSiteRound());
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;

absl::StatusOr<proto::RegisterResponse> Gateway::Register(const proto::RegisterRequest& request) {
  const std::string& id = request.device().device_id();
  if (id.empty()) return absl::InvalidArgumentError("Register: device_id is empty");
  if (id == impl_->options.gateway_id) {
    return absl::InvalidArgumentError(absl::StrCat("device id \"", id, "\" is the gateway's own"));
  }
  absl::MutexLock lock(&impl_->mu);
  impl_->devices[id] = request.device().num_examples();
  impl_->counters.registered_devices = static_cast<int64_t>(impl_->devices.size());
  proto::RegisterResponse response;
  response.set_device_id(id);
  response.set_model_id(impl_->model_id);
  return response;
}

absl::StatusOr<proto::PollTaskResponse> Gateway::PollTask(const proto::PollTaskRequest& request) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  if (!s.devices.contains(request.device_id())) {
    return absl::NotFoundError(absl::StrCat("device \"", request.device_id(), "\" is not registered with gateway \"",
                                            s.options.gateway_id, "\"; call Register first"));
  }
  proto::PollTaskResponse response;
  response.set_deployed_model_version(s.deployed ? s.deployed->version : 0);
  if (s.site && request.eligible()) {
    if (const proto::Task* task = s.site->state->IssueTask(request.device_id())) {
      *response.mutable_task() = *task;
      return response;
    }
  }
  response.set_retry_after_millis(absl::ToInt64Milliseconds(s.options.poll_interval));
  return response;
}

absl::StatusOr<proto::DownloadResponse> Gateway::Download(const proto::DownloadRequest& request) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  const bool deployed = request.artifact() == proto::ARTIFACT_DEPLOYED_MODEL;
  if (!deployed && request.artifact() != proto::ARTIFACT_GLOBAL_MODEL) {
    return absl::InvalidArgumentError(absl::StrCat("unknown artifact kind ", request.artifact()));
  }
  const RelayedArtifact* artifact = deployed ? (s.deployed ? &*s.deployed : nullptr)
                                             : (s.site ? &s.site->model.artifact : nullptr);
  if (artifact == nullptr || artifact->version != request.model_version()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "gateway \"", s.options.gateway_id, "\" does not serve ", deployed ? "deployed" : "global", " model version ",
        request.model_version(), "; it serves ", artifact == nullptr ? "none now" : absl::StrCat(artifact->version)));
  }
  const std::string& bytes = artifact->bytes;
  if (request.offset() > bytes.size()) {
    return absl::OutOfRangeError(
        absl::StrCat("download offset ", request.offset(), " is past the end of the ", bytes.size(), "-byte model"));
  }
  uint64_t n = s.options.chunk_bytes;
  if (request.max_bytes() > 0) n = std::min<uint64_t>(n, request.max_bytes());
  n = std::min<uint64_t>(n, bytes.size() - request.offset());
  proto::DownloadResponse response;
  response.set_offset(request.offset());
  response.set_data(bytes.substr(request.offset(), n));
  response.set_total_size(bytes.size());
  return response;
}

absl::StatusOr<RoundState::TaskState*> Gateway::Impl::TaskFor(const proto::UploadRequest& request) {
  RoundState::TaskState* task =
      site ? site->state->FindOrIssueTask(request.task_id(), request.device_id()) : nullptr;
  if (task == nullptr || task->device_id != request.device_id()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "task '", request.task_id(), "' is not open at gateway \"", options.gateway_id, "\" for device '",
        request.device_id(), "': its site round has ended (late update) or it was never assigned to this device"));
  }
  return task;
}

namespace {

// Final for the task: the device is told why and does not send it again.
absl::Status Refuse(RoundState::TaskState& task, absl::Status why) {
  task.committed = true;
  task.upload.Release();
  task.reply = why;
  return why;
}

}  // namespace

absl::StatusOr<proto::UploadResponse> Gateway::Upload(const proto::UploadRequest& request) {
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  if (auto replayed = s.last_replies.find(request.task_id());
      replayed != s.last_replies.end() && replayed->second.device_id == request.device_id()) {
    return replayed->second.reply;  // a resubmission after its site round ended
  }
  FEDGE_ASSIGN_OR_RETURN(RoundState::TaskState * task, s.TaskFor(request));
  if (task->committed) return task->reply;  // answered again, never counted twice
  s.counters.bytes_from_devices += static_cast<int64_t>(request.data().size());
  RoundState& round = *s.site->state;
  if (request.has_header()) {
    if (absl::Status fits = round.CheckFor(*task, s.options.limits).CheckHeader(request.header()); !fits.ok()) {
      round.CountRejection("mismatch");
      ++s.counters.device_updates_rejected;
      return Refuse(*task, fits);
    }
  }
  FEDGE_RETURN_IF_ERROR(task->upload.Append(request.offset(), request.data(), request.total_size()));
  if (!request.final() || !task->upload.complete()) {
    proto::UploadResponse response;
    response.set_committed_offset(task->upload.committed());
    return response;
  }
  return s.Commit(*task);
}

absl::StatusOr<proto::UploadResponse> Gateway::Impl::Commit(RoundState::TaskState& task) {
  RoundState& round = *site->state;
  absl::StatusOr<RoundState::CheckedUpload> checked = round.Check(task, options.limits);
  if (!checked.ok()) {
    ++counters.device_updates_rejected;
    FEDGE_LOG(INFO) << options.gateway_id << ": rejected update from " << task.device_id << ": " << checked.status();
    return Refuse(task, checked.status());
  }
  const proto::PrivacySpend spend = checked->update->privacy();
  const uint64_t size = task.upload.committed();
  if (absl::Status folded = round.Fold(*std::move(checked)); !folded.ok()) {
    ++counters.device_updates_rejected;
    return Refuse(task, folded);
  }
  proto::GatewaySiteRound& record = site->record;
  proto::GatewaySiteRound::Acknowledged* ack = record.add_acknowledged();
  ack->set_device_id(task.device_id);
  ack->set_size(size);
  ack->set_epsilon_total(spend.epsilon_total());
  const proto::PrivacySpend kept = record.privacy();
  if (spend.epsilon_total() > kept.epsilon_total()) *record.mutable_privacy() = spend;
  if (!options.state_dir.empty()) {
    if (absl::Status stored = SaveSiteRound(); !stored.ok()) {
      // Not durable, so not acknowledged: undone, and the device sends it again.
      record.mutable_acknowledged()->RemoveLast();
      *record.mutable_privacy() = kept;
      FEDGE_RETURN_IF_ERROR(round.RollBackToStored());
      round.ResetUpload(task);
      return absl::UnavailableError(absl::StrCat("gateway \"", options.gateway_id,
                                                 "\" could not store the update; send it again: ", stored.message()));
    }
  }
  RoundState::Acknowledge(task, size);
  ++counters.device_updates_accepted;
  FEDGE_LOG(INFO) << options.gateway_id << ": accepted update of task " << task.task.task_id() << " from "
                  << task.device_id;
  return task.reply;
}

absl::StatusOr<proto::ReportResponse> Gateway::Report(const proto::DeviceReport& report) {
  Impl& s = *impl_;
  proto::DeviceReport site_report;
  {
    absl::MutexLock lock(&s.mu);
    if (!s.devices.contains(report.device_id())) {
      return absl::NotFoundError(absl::StrCat("device \"", report.device_id(),
                                              "\" is not registered with gateway \"", s.options.gateway_id, "\""));
    }
    const bool more_spent = report.epsilon_spent() > s.site_epsilon;
    if (!more_spent && report.alarms().empty()) return proto::ReportResponse();
    s.site_epsilon = std::max(s.site_epsilon, report.epsilon_spent());
    site_report.set_device_id(s.options.gateway_id);
    site_report.set_epsilon_spent(s.site_epsilon);
    *site_report.mutable_alarms() = report.alarms();
  }
  // The coordinator checks the report as it would a device's.
  return s.upstream->Report(site_report);
}

bool Gateway::site_round_open() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->site.has_value();
}

std::optional<absl::Time> Gateway::site_deadline() const {
  absl::MutexLock lock(&impl_->mu);
  if (!impl_->site) return std::nullopt;
  return impl_->site->state->deadline();
}

GatewayCounters Gateway::counters() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->counters;
}

}  // namespace fedge
