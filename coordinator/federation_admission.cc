// The Federation's part in enrolment and revocation (coordinator/enrolment.h):
// the status an operator gives a device, and the refusal of every device
// RPC from a device that is pending or revoked.
#include "absl/strings/str_cat.h"
#include "coordinator/federation.h"
#include "coordinator/federation_impl.h"
#include "core/strings.h"

namespace fedge {

using federation_internal::DeviceEntry;
using federation_internal::ToMicros;

absl::Status Federation::Impl::CheckAdmitted(const std::string& device_id) const {
  auto it = devices.find(device_id);
  if (it == devices.end()) return absl::OkStatus();
  switch (it->second.status) {
    case proto::DEVICE_STATUS_REVOKED:
      return absl::PermissionDeniedError(
          absl::StrCat("device \"", device_id,
                       "\" is revoked (fedgectl device revoke): the coordinator refuses it; enrol it again under a "
                       "new id with a new token"));
    case proto::DEVICE_STATUS_PENDING:
      return absl::PermissionDeniedError(absl::StrCat("device \"", device_id,
                                                      "\" awaits approval (fedgectl device approve ", device_id,
                                                      ")"));
    default:
      return absl::OkStatus();
  }
}

absl::StatusOr<proto::DeviceSummary> Federation::SetDeviceStatus(std::string_view device_id,
                                                                 proto::DeviceStatus status) {
  if (status != proto::DEVICE_STATUS_PENDING && status != proto::DEVICE_STATUS_ACTIVE &&
      status != proto::DEVICE_STATUS_REVOKED) {
    return absl::InvalidArgumentError(absl::StrCat("a device's status can be set to pending, active or revoked, not ",
                                                   proto::DeviceStatus_Name(status)));
  }
  Impl& s = *impl_;
  absl::MutexLock lock(&s.mu);
  const std::string id(device_id);
  auto [it, created] = s.devices.try_emplace(id);
  DeviceEntry& entry = it->second;
  if (created) {
    // Its enrolment request is the first the coordinator heard of it.
    entry.first_seen_unix_micros = entry.last_seen_unix_micros = ToMicros(s.clock->Now());
  }
  const proto::DeviceStatus before = entry.status;
  entry.status = status;
  if (s.options.store != nullptr) {
    // At once, not with the next tick: a revocation must survive a crash
    // that follows the operator's command.
    absl::Status stored = s.options.store->SaveDevices({s.ToStored(id, entry)});
    if (!stored.ok()) {
      if (created) {
        s.devices.erase(it);
      } else {
        entry.status = before;
      }
      return stored;
    }
  }
  return s.Summarize(id, entry, ToMicros(s.clock->Now()));
}

}  // namespace fedge
