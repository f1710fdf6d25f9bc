#include "ctl/enrol_commands.h"

#include "absl/strings/str_cat.h"
#include "ctl/format.h"
#include "ctl/json_view.h"

namespace fedge::ctl {
namespace {

// A device action's answer: the device's registry entry, one line of text.
absl::Status PrintDevice(const absl::StatusOr<proto::DeviceSummary>& d, std::string_view done,
                         const OutputOptions& output, std::ostream& out) {
  if (!d.ok()) return d.status();
  if (output.json) {
    out << ToJson(*d).dump() << "\n";
    return absl::OkStatus();
  }
  out << "device " << d->device_id() << " " << done << "; its status is now "
      << EnumJsonName(*proto::DeviceStatus_descriptor()->FindValueByNumber(d->status())) << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseExpiry(const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration() || d != absl::Trunc(d, absl::Seconds(1))) {
    return absl::InvalidArgumentError(absl::StrCat("--expires '", text,
                                                   "' is not a positive whole number of seconds as a duration; "
                                                   "write e.g. 24h, 30m or 1h30m"));
  }
  return absl::ToInt64Seconds(d);
}

absl::Status CreateTokens(AdminApi& api, uint32_t count, int64_t ttl_seconds, const OutputOptions& output,
                          std::ostream& out) {
  proto::CreateTokensRequest request;
  request.set_count(count);
  request.set_ttl_seconds(ttl_seconds);
  absl::StatusOr<proto::CreateTokensResponse> made = api.CreateTokens(request);
  if (!made.ok()) return made.status();
  if (output.json) {
    out << ToJson(*made).dump() << "\n";
    return absl::OkStatus();
  }
  out << "# " << made->tokens_size() << " one-time enrolment token(s), valid until "
      << FormatTime(made->expires_unix_micros())
      << "; shown only now (the coordinator keeps their hashes). Use: fedge-device enroll --token TOKEN ...\n";
  for (const std::string& token : made->tokens()) out << token << "\n";
  return absl::OkStatus();
}

absl::Status ApproveDevice(AdminApi& api, const std::string& device_id, const OutputOptions& output,
                           std::ostream& out) {
  return PrintDevice(api.ApproveDevice(device_id), "approved: its certificate is issued", output, out);
}

absl::Status RevokeDevice(AdminApi& api, const std::string& device_id, const OutputOptions& output,
                          std::ostream& out) {
  return PrintDevice(api.RevokeDevice(device_id), "revoked: its next call is refused and the CRL lists it", output,
                     out);
}

}  // namespace fedge::ctl
