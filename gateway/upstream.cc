// The coordinator's side of the Gateway: Tick() registers, polls for a task,
// fetches and verifies the models it relays, and forwards each complete site
// round as one update (gateway/gateway.h).
#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "aggregation/weighted_mean.h"
#include "core/artifact.h"
#include "core/logging.h"
#include "core/status.h"
#include "gateway/gateway.h"
#include "gateway/gateway_impl.h"

namespace fedge {
namespace {

// A relayed artifact larger than this is refused (the coordinator's models
// are a few MB; the bound keeps a broken upstream from exhausting memory).
constexpr uint64_t kMaxArtifactBytes = uint64_t{1} << 30;
// Upload answers that did not advance the acknowledged offset before the
// gateway gives up until its next Tick.
constexpr int kMaxStalledChunks = 3;

}  // namespace

absl::Status Gateway::Tick() {
  Impl& s = *impl_;
  FEDGE_RETURN_IF_ERROR(s.RegisterUpstream());
  bool open = false;
  bool done = false;
  {
    absl::MutexLock lock(&s.mu);
    open = s.site.has_value();
    done = open && s.SiteRoundDone();
  }
  if (done) return s.ForwardSiteRound();  // also a resumed round before its devices are back
  // Not registered: too few site devices yet.
  if (open || s.registered_upstream_with < 0 || s.clock->Now() < s.next_poll) return absl::OkStatus();
  return s.PollUpstream();
}

absl::Status Gateway::Join() { return impl_->RegisterUpstream(); }

absl::Status Gateway::Impl::RegisterUpstream() {
  proto::RegisterRequest request;
  int64_t count = 0;
  {
    absl::MutexLock lock(&mu);
    count = static_cast<int64_t>(devices.size());
    // A site without its devices is no device yet: the coordinator's
    // min_devices then counts only gateways that can train.
    if (count == registered_upstream_with || count < options.min_devices) return absl::OkStatus();
    uint64_t examples = 0;
    for (const auto& [id, n] : devices) examples += n;
    request.mutable_device()->set_num_examples(examples);
  }
  request.mutable_device()->set_device_id(options.gateway_id);
  (*request.mutable_device()->mutable_attributes())[kGatewayDevicesAttribute] = absl::StrCat(count);
  FEDGE_ASSIGN_OR_RETURN(proto::RegisterResponse response, upstream->Register(request));
  registered_upstream_with = count;
  absl::MutexLock lock(&mu);
  model_id = response.model_id();
  return absl::OkStatus();
}

absl::Status Gateway::Impl::PollUpstream() {
  proto::PollTaskRequest request;
  request.set_device_id(options.gateway_id);
  request.set_eligible(true);  // Tick polls only once the site has joined (min_devices registered)
  FEDGE_ASSIGN_OR_RETURN(proto::PollTaskResponse response, upstream->PollTask(request));
  next_poll = clock->Now() + std::max(options.poll_interval, absl::Milliseconds(response.retry_after_millis()));
  if (const uint64_t version = response.deployed_model_version(); version > 0) {
    bool have = false;
    {
      absl::MutexLock lock(&mu);
      have = deployed && deployed->version == version;
    }
    if (!have) {
      FEDGE_ASSIGN_OR_RETURN(RelayedArtifact artifact, FetchArtifact(proto::ARTIFACT_DEPLOYED_MODEL, version));
      FEDGE_RETURN_IF_ERROR(OpenArtifact(artifact.bytes, coordinator_key).status());
      absl::MutexLock lock(&mu);
      deployed = std::move(artifact);
    }
  }
  if (!response.has_task()) return absl::OkStatus();
  const proto::Task& task = response.task();
  if (task.has_secagg()) {
    // Its devices' individual updates would pass through the gateway, and
    // the masks are per device: a gateway cannot take part.
    if (refused_task_round != task.round()) {
      refused_task_round = task.round();
      FEDGE_LOG(ERROR) << options.gateway_id << ": round " << task.round()
                       << " uses secure aggregation, which a gateway cannot take part in; its site sits it out "
                          "(connect devices that need it to the coordinator directly)";
      absl::MutexLock lock(&mu);
      ++counters.site_rounds_dropped;
    }
    return absl::OkStatus();
  }
  FEDGE_ASSIGN_OR_RETURN(RelayedArtifact artifact, FetchArtifact(proto::ARTIFACT_GLOBAL_MODEL, task.model_version()));
  FEDGE_ASSIGN_OR_RETURN(SiteModel model, VerifyModel(std::move(artifact)));
  if (!options.state_dir.empty()) FEDGE_RETURN_IF_ERROR(SaveModel(model.artifact));
  absl::MutexLock lock(&mu);
  OpenSiteRound(task, std::move(model));
  if (!options.state_dir.empty()) return SaveSiteRound();
  return absl::OkStatus();
}

absl::StatusOr<RelayedArtifact> Gateway::Impl::FetchArtifact(proto::ArtifactKind kind, uint64_t version) {
  RelayedArtifact artifact{.version = version, .bytes = {}};
  uint64_t total = 0;
  do {
    proto::DownloadRequest request;
    request.set_device_id(options.gateway_id);
    request.set_model_version(version);
    request.set_offset(artifact.bytes.size());
    request.set_max_bytes(options.chunk_bytes);
    request.set_artifact(kind);
    FEDGE_ASSIGN_OR_RETURN(proto::DownloadResponse response, upstream->Download(request));
    total = response.total_size();
    if (response.offset() != artifact.bytes.size() || total > kMaxArtifactBytes ||
        (response.data().empty() && artifact.bytes.size() < total) ||
        artifact.bytes.size() + response.data().size() > total) {
      return absl::UnavailableError(absl::StrCat("the coordinator's answer to a download of model version ", version,
                                                 " at offset ", artifact.bytes.size(), " is inconsistent"));
    }
    artifact.bytes += response.data();
  } while (artifact.bytes.size() < total);
  return artifact;
}

absl::StatusOr<SiteModel> Gateway::Impl::VerifyModel(RelayedArtifact artifact) const {
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, OpenArtifact(artifact.bytes, coordinator_key));
  if (body.header().version() != artifact.version) {
    return absl::PermissionDeniedError(absl::StrCat("the coordinator served version ", body.header().version(),
                                                    " for a task on version ", artifact.version));
  }
  FEDGE_ASSIGN_OR_RETURN(ModelParams params, ParamsFromBody(body));
  return SiteModel{.artifact = std::move(artifact),
                   .layout_id = body.header().layout_id(),
                   .num_elements = params.layout.num_elements()};
}

void Gateway::Impl::OpenSiteRound(const proto::Task& task, SiteModel model) {
  std::vector<std::string> selected;
  for (const auto& [id, examples] : devices) selected.push_back(id);
  const absl::Time now = clock->Now();
  absl::Time deadline = now + options.site_deadline;
  if (task.deadline_unix_micros() > 0) {
    deadline = std::min(deadline, absl::FromUnixMicros(task.deadline_unix_micros()) - options.forward_margin);
  }
  proto::GatewaySiteRound record;
  *record.mutable_upstream_task() = task;
  for (const std::string& id : selected) record.add_selected(id);
  record.set_opened_unix_micros(absl::ToUnixMicros(now));
  record.set_deadline_unix_micros(absl::ToUnixMicros(std::max(now, deadline)));
  if (encoder != nullptr) record.set_encoder_state(encoder->SaveState());
  OpenSiteRoundFrom(std::move(record), std::move(model));
  FEDGE_LOG(INFO) << options.gateway_id << ": site round " << task.round() << " open for " << selected.size()
                  << " devices on model version " << task.model_version();
}

void Gateway::Impl::OpenSiteRoundFrom(proto::GatewaySiteRound record, SiteModel model) {
  const proto::Task& task = record.upstream_task();
  RoundState::Options round{.round = task.round(),
                            .model_version = task.model_version(),
                            .layout_id = model.layout_id,
                            .num_elements = model.num_elements,
                            .target = std::max(record.selected_size(), 1),
                            .architecture = task.architecture(),
                            .train = task.train(),
                            .opened = absl::FromUnixMicros(record.opened_unix_micros()),
                            .deadline = absl::FromUnixMicros(record.deadline_unix_micros())};
  std::vector<std::string> selected(record.selected().begin(), record.selected().end());
  site.emplace();
  site->state = std::make_unique<RoundState>(std::move(round), std::move(selected),
                                             std::make_unique<WeightedMeanAggregator>(model.num_elements));
  site->model = std::move(model);
  site->record = std::move(record);
  ++counters.site_rounds_opened;
}

bool Gateway::Impl::SiteRoundDone() const {
  const RoundState& round = *site->state;
  return !site->encoded.empty() || round.AllSelectedAnswered() || clock->Now() >= round.deadline();
}

absl::StatusOr<std::optional<std::string>> Gateway::Impl::CombinedUpdate() {
  if (!site->encoded.empty()) return site->encoded;
  RoundState& round = *site->state;
  if (round.accepted() < options.site_quorum) {
    EndSiteRound(false, absl::StrCat(round.accepted(), " device updates, below [gateway] site_quorum = ",
                                     options.site_quorum));
    return std::nullopt;
  }
  absl::StatusOr<std::vector<float>> mean = round.Finish();
  const proto::Task& task = site->record.upstream_task();
  const int64_t n = site->model.num_elements;
  absl::Status ready = mean.status();
  if (ready.ok() && (encoder == nullptr || encoder_codec != task.train().codec() || encoder->num_elements() != n)) {
    absl::StatusOr<std::unique_ptr<UpdateEncoder>> created = UpdateEncoder::Create(task.train().codec(), n);
    ready = created.status();
    if (ready.ok()) {
      encoder = *std::move(created);
      encoder_codec = task.train().codec();
      if (!site->record.encoder_state().empty()) encoder->RestoreState(site->record.encoder_state()).IgnoreError();
    }
  }
  absl::StatusOr<std::string> payload = ready.ok() ? encoder->Encode(*mean, random) : ready;
  if (!payload.ok()) {
    EndSiteRound(false, absl::StrCat("could not combine the updates: ", payload.status().message()));
    return std::nullopt;
  }
  proto::EncodedUpdate update;
  update.set_round(task.round());
  update.set_task_id(task.task_id());
  update.set_base_version(task.model_version());
  update.set_layout_id(site->model.layout_id);
  update.set_num_elements(static_cast<uint64_t>(n));
  update.set_codec(task.train().codec());
  update.set_payload(*std::move(payload));
  update.set_num_examples(static_cast<uint64_t>(std::llround(round.total_weight())));
  // The devices' training metrics, averaged by example count.
  const proto::RoundRecord site_record = round.FinalRecord();
  for (const auto& [name, value] : site_record.metrics()) {
    absl::string_view metric(name);
    if (absl::ConsumePrefix(&metric, "device_") && IsKnownUpdateMetric(std::string(metric))) {
      (*update.mutable_metrics())[std::string(metric)] = value;
    }
  }
  *update.mutable_privacy() = site->record.privacy();
  site->header = UpdateHeaderOf(update);
  site->encoded = update.SerializeAsString();
  return site->encoded;
}

absl::Status Gateway::Impl::ForwardSiteRound() {
  std::string bytes;
  proto::UpdateHeader header;
  {
    absl::MutexLock lock(&mu);
    FEDGE_ASSIGN_OR_RETURN(std::optional<std::string> combined, CombinedUpdate());
    if (!combined) return absl::OkStatus();
    bytes = *std::move(combined);
    header = site->header;
  }
  absl::Status sent = UploadUpstream(header, bytes);
  absl::MutexLock lock(&mu);
  if (IsTransient(sent)) return sent;  // the next Tick sends the same bytes again
  if (sent.ok()) {
    counters.bytes_upstream += static_cast<int64_t>(bytes.size());
  } else {
    encoder->RevertLastEncode();  // never delivered: it leaves no error-feedback trace
  }
  EndSiteRound(sent.ok(), sent.ok() ? absl::StrCat(bytes.size(), " bytes accepted by the coordinator")
                                    : absl::StrCat("the coordinator refused it: ", sent.message()));
  return absl::OkStatus();
}

absl::Status Gateway::Impl::UploadUpstream(const proto::UpdateHeader& header, const std::string& bytes) {
  proto::UploadRequest request;
  request.set_device_id(options.gateway_id);
  request.set_task_id(header.task_id());
  request.set_total_size(bytes.size());
  uint64_t offset = 0;
  int stalled = 0;
  while (true) {
    const uint64_t len = std::min<uint64_t>(options.chunk_bytes, bytes.size() - offset);
    if (offset == 0) {
      *request.mutable_header() = header;
    } else {
      request.clear_header();
    }
    request.set_offset(offset);
    request.set_data(bytes.substr(offset, len));
    request.set_final(offset + len == bytes.size());
    FEDGE_ASSIGN_OR_RETURN(proto::UploadResponse response, upstream->Upload(request));
    if (response.accepted()) return absl::OkStatus();
    if (response.committed_offset() > bytes.size() || (request.final() && response.committed_offset() == bytes.size())) {
      return absl::InternalError(absl::StrCat("the coordinator did not accept the site's update: ", response.detail()));
    }
    stalled = response.committed_offset() > offset ? 0 : stalled + 1;
    if (stalled >= kMaxStalledChunks) {
      return absl::UnavailableError(absl::StrCat("upload of the site's update made no progress past offset ", offset));
    }
    offset = response.committed_offset();
  }
}

void Gateway::Impl::EndSiteRound(bool forwarded, std::string_view why) {
  const RoundState& round = *site->state;
  FEDGE_LOG(INFO) << options.gateway_id << ": site round " << round.round() << " "
                  << (forwarded ? "forwarded" : "ended without an update") << " (" << round.accepted() << " of "
                  << round.selected().size() << " devices, " << std::llround(round.total_weight())
                  << " examples): " << why;
  ++(forwarded ? counters.site_rounds_forwarded : counters.site_rounds_dropped);
  last_replies = site->state->CommittedReplies();
  site.reset();
  if (!options.state_dir.empty()) RemoveSiteFiles();
  next_poll = absl::InfinitePast();
}

}  // namespace fedge
