// The Federation's fleet registry as the Admin service shows it: GetStatus,
// ListDevices (paged), GetDevice, ListModels, and the registry updates that
// do not belong to the round logic (certificates, rejections). The rules
// that need no Federation state are in fleet_view.h.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "coordinator/federation.h"
#include "coordinator/federation_impl.h"
#include "coordinator/fleet_view.h"
#include "coordinator/store/model_files.h"
#include "core/strings.h"

namespace fedge {

using federation_internal::DeviceEntry;
using federation_internal::ToMicros;

namespace {

constexpr uint32_t kDefaultStatusRounds = 10;
constexpr uint32_t kMaxStatusRounds = 1000;
// A rejection reason is the coordinator's own message; bounded all the same.
constexpr size_t kMaxRejectionBytes = 512;

// The header of a signed artifact this coordinator made (no signature check:
// it is its own), or an empty one if it does not parse.
proto::ArtifactHeader HeaderOf(const std::string& artifact) {
  proto::SignedArtifact signed_artifact;
  proto::ArtifactBody body;
  if (!signed_artifact.ParseFromString(artifact) || !body.ParseFromString(signed_artifact.body())) return {};
  return body.header();
}

proto::ModelSummary Served(std::string_view kind, const std::string& artifact, uint64_t version, uint32_t devices) {
  const proto::ArtifactHeader header = HeaderOf(artifact);
  proto::ModelSummary m;
  m.set_kind(std::string(kind));
  m.set_version(version);
  m.set_current(true);
  m.set_parent_version(header.parent_version());
  m.set_architecture(header.architecture());
  m.set_size_bytes(artifact.size());
  m.set_sha256(Sha256Hex(artifact));
  m.set_created_unix_micros(header.created_unix_micros());
  for (const auto& [k, v] : header.metrics()) (*m.mutable_metrics())[k] = v;
  m.set_devices(devices);
  return m;
}

// Versions devices still use besides the served one, newest first.
void AddOlder(std::string_view kind, uint64_t served, const std::map<uint64_t, uint32_t>& in_use,
              proto::ListModelsResponse& out) {
  for (auto it = in_use.rbegin(); it != in_use.rend(); ++it) {
    if (it->first == 0 || it->first == served) continue;
    proto::ModelSummary& m = *out.add_models();
    m.set_kind(std::string(kind));
    m.set_version(it->first);
    m.set_devices(it->second);
  }
}

}  // namespace

proto::DeviceSummary Federation::Impl::Summarize(const std::string& id, const DeviceEntry& e,
                                                 int64_t now_unix_micros) const {
  proto::DeviceSummary d;
  d.set_device_id(id);
  d.set_first_seen_unix_micros(e.first_seen_unix_micros);
  d.set_last_seen_unix_micros(e.last_seen_unix_micros);
  d.set_rounds_joined(static_cast<uint64_t>(e.rounds_joined));
  d.set_eligible(e.eligible);
  d.set_ineligible_reason(e.ineligible_reason);
  d.set_epsilon_spent(e.epsilon_spent);
  d.set_inference_model_version(e.inference_version);
  d.set_drift_alarms(e.drift.alarms());
  d.set_status(EffectiveStatus(e.status, e.last_seen_unix_micros, now_unix_micros, options.device_offline_after));
  d.set_certificate_sha256(e.certificate_sha256);
  *d.mutable_info() = e.info;
  d.set_updates_accepted(static_cast<uint64_t>(e.updates_accepted));
  d.set_updates_rejected(static_cast<uint64_t>(e.updates_rejected));
  d.set_last_rejection(e.last_rejection);
  d.set_last_rejection_unix_micros(e.last_rejection_unix_micros);
  d.set_training_model_version(e.training_version);
  d.set_inference_health(InferenceHealth(e.inference_version, deployed.version(), e.metrics));
  // What the device measured: its last accepted update's training metrics,
  // then its last report (which wins on a shared name).
  for (const auto& [k, v] : e.training_metrics) (*d.mutable_metrics())[k] = v;
  for (const auto& [k, v] : e.metrics) (*d.mutable_metrics())[k] = v;
  d.set_last_report_unix_micros(e.last_report_unix_micros);
  *d.mutable_drift() = e.drift;
  d.mutable_drift()->set_device_id(id);
  return d;
}

void Federation::Impl::NoteRejection(const std::string& device_id, const absl::Status& why) {
  auto it = devices.find(device_id);
  if (it == devices.end()) return;
  DeviceEntry& e = it->second;
  ++e.updates_rejected;
  e.last_rejection = std::string(why.message().substr(0, kMaxRejectionBytes));
  e.last_rejection_unix_micros = ToMicros(clock->Now());
  MarkDirty(device_id);
}

absl::Status Federation::NoteDeviceCertificate(std::string_view device_id, std::string sha256_hex) {
  absl::MutexLock lock(&impl_->mu);
  auto it = impl_->devices.find(std::string(device_id));
  if (it == impl_->devices.end()) {
    return absl::NotFoundError(absl::StrCat("device '", AsAbsl(device_id), "' is not registered"));
  }
  if (it->second.certificate_sha256 != sha256_hex) {
    it->second.certificate_sha256 = std::move(sha256_hex);
    impl_->MarkDirty(it->first);
  }
  return absl::OkStatus();
}

proto::StatusResponse Federation::GetStatus(bool include_devices) const {
  proto::StatusRequest request;
  request.set_include_devices(include_devices);
  return GetStatus(request);
}

proto::StatusResponse Federation::GetStatus(const proto::StatusRequest& request) const {
  const Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  const int64_t now = ToMicros(s.clock->Now());
  proto::StatusResponse status;
  status.set_current_round(s.open ? s.open->round() : s.rounds_started);
  status.set_model_version(s.version);
  status.set_deployed_model_version(s.deployed.version());
  status.set_registered_devices(s.devices.size());
  status.set_completed_rounds(s.completed.size());
  status.set_round_open(s.open.has_value());
  status.set_round_limit(static_cast<uint64_t>(s.RoundLimit()));
  status.set_finished(s.Finished());
  const uint32_t want = request.max_rounds() == 0 ? kDefaultStatusRounds
                                                  : std::min(request.max_rounds(), kMaxStatusRounds);
  const auto& done = s.completed;
  for (size_t i = done.size() > want ? done.size() - want : 0; i < done.size(); ++i) {
    *status.add_recent_rounds() = done[i];
  }
  auto& by_status = *status.mutable_devices_by_status();
  for (proto::DeviceStatus st : {proto::DEVICE_STATUS_PENDING, proto::DEVICE_STATUS_ACTIVE,
                                 proto::DEVICE_STATUS_OFFLINE, proto::DEVICE_STATUS_REVOKED}) {
    by_status[std::string(DeviceStatusName(st))] = 0;
  }
  for (const auto& [id, entry] : s.devices) {
    const proto::DeviceStatus st =
        EffectiveStatus(entry.status, entry.last_seen_unix_micros, now, s.options.device_offline_after);
    ++by_status[std::string(DeviceStatusName(st))];
    if (!request.omit_device_maps()) {
      if (entry.epsilon_spent > 0) (*status.mutable_device_epsilon())[id] = entry.epsilon_spent;
      if (entry.drift.alarms() > 0) *status.add_drift() = entry.drift;
    }
    if (request.include_devices()) *status.add_devices() = s.Summarize(id, entry, now);
  }
  return status;
}

absl::StatusOr<proto::ListDevicesResponse> Federation::ListDevices(const proto::ListDevicesRequest& request) const {
  std::string after;
  if (!request.page_token().empty()) {
    absl::StatusOr<std::string> decoded = DecodePageToken(request.page_token());
    if (!decoded.ok()) return decoded.status();
    after = *std::move(decoded);
  }
  const uint32_t page_size = DevicePageSize(request.page_size());
  const Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  const int64_t now = ToMicros(s.clock->Now());
  proto::ListDevicesResponse response;
  size_t bytes = 0;
  auto it = request.page_token().empty() ? s.devices.begin() : s.devices.upper_bound(after);
  for (; it != s.devices.end(); ++it) {
    const DeviceEntry& e = it->second;
    if (request.status() != proto::DEVICE_STATUS_UNSPECIFIED &&
        EffectiveStatus(e.status, e.last_seen_unix_micros, now, s.options.device_offline_after) != request.status()) {
      continue;
    }
    if (static_cast<uint32_t>(response.devices_size()) == page_size || bytes >= kMaxDevicePageBytes) {
      // Another match exists: the next page starts after the last one sent.
      response.set_next_page_token(EncodePageToken(response.devices(response.devices_size() - 1).device_id()));
      break;
    }
    proto::DeviceSummary& d = *response.add_devices();
    d = s.Summarize(it->first, e, now);
    bytes += d.ByteSizeLong();
  }
  return response;
}

absl::StatusOr<proto::DeviceSummary> Federation::GetDevice(std::string_view device_id) const {
  absl::MutexLock lock(&impl_->mu);
  auto it = impl_->devices.find(std::string(device_id));
  if (it == impl_->devices.end()) {
    return absl::NotFoundError(absl::StrCat("device '", AsAbsl(device_id),
                                            "' is not registered (fedgectl devices lists the registered ones)"));
  }
  return impl_->Summarize(it->first, it->second, ToMicros(impl_->clock->Now()));
}

proto::ListModelsResponse Federation::ListModels() const {
  const Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  std::map<uint64_t, uint32_t> training, serving;
  for (const auto& [id, e] : s.devices) {
    ++training[e.training_version];
    ++serving[e.inference_version];
  }
  auto count = [](const std::map<uint64_t, uint32_t>& in_use, uint64_t version) {
    auto it = in_use.find(version);
    return it == in_use.end() ? 0u : it->second;
  };
  proto::ListModelsResponse response;
  *response.add_models() = Served("global", s.signed_model, s.version, count(training, s.version));
  AddOlder("global", s.version, training, response);
  if (s.deployed.version() > 0) {
    *response.add_models() =
        Served("deployed", s.deployed.artifact(), s.deployed.version(), count(serving, s.deployed.version()));
  }
  AddOlder("deployed", s.deployed.version(), serving, response);
  return response;
}

}  // namespace fedge
