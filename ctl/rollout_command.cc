#include "ctl/rollout_command.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "ctl/format.h"
#include "ctl/json_view.h"
#include "ctl/table.h"

namespace fedge::ctl {
namespace {

std::string StateName(proto::RolloutState state) {
  switch (state) {
    case proto::ROLLOUT_RUNNING: return "running";
    case proto::ROLLOUT_PAUSED: return "paused";
    case proto::ROLLOUT_COMPLETED: return "completed";
    case proto::ROLLOUT_ABORTED: return "aborted";
    default: return "none";
  }
}

void Render(const proto::RolloutStatus& s, const OutputOptions& output, std::ostream& out) {
  out << "state      " << StateName(s.state()) << "\n";
  if (s.state() == proto::ROLLOUT_NONE) {
    out << "reason     " << (s.reason().empty() ? "no deployment rolled out yet" : s.reason()) << "\n";
    return;
  }
  out << "version    v" << s.version() << " (previous v" << s.previous_version() << ")\n";
  out << "stage      " << s.stage() + 1 << "/" << s.stages_size() << ", since "
      << FormatAge(s.stage_started_unix_micros(), output.now) << "\n";
  out << "cohort     " << s.cohort_devices() << " devices: " << s.healthy() << " healthy, " << s.failed()
      << " failed (abort above " << FormatFixed(100 * s.max_failure_share(), 1) << "%)\n";
  out << "reason     " << s.reason() << "\n";
  Table table({"STAGE", "DEVICES", "MIN DEVICES", "SOAK"});
  for (int i = 0; i < s.stages_size(); ++i) {
    const proto::RolloutStage& st = s.stages(i);
    table.AddRow({absl::StrCat(i + 1, static_cast<uint32_t>(i) == s.stage() ? " *" : ""),
                  absl::StrCat(FormatFixed(100 * st.fraction(), 1), "%"), absl::StrCat(st.min_devices()),
                  absl::StrCat(st.soak_seconds(), "s")});
  }
  out << table.Render();
}

}  // namespace

absl::Status RunRollout(AdminApi& api, const std::string& action, const OutputOptions& output, std::ostream& out) {
  absl::StatusOr<proto::RolloutStatus> status;
  if (action == "status") {
    status = api.GetRollout();
  } else if (action == "pause") {
    status = api.ControlRollout(proto::RolloutControlRequest::PAUSE);
  } else if (action == "resume") {
    status = api.ControlRollout(proto::RolloutControlRequest::RESUME);
  } else if (action == "promote") {
    status = api.ControlRollout(proto::RolloutControlRequest::PROMOTE);
  } else if (action == "rollback") {
    status = api.ControlRollout(proto::RolloutControlRequest::ROLLBACK);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown rollout action '", action, "': use status, pause, resume, promote or rollback"));
  }
  if (!status.ok()) return status.status();
  if (output.json) {
    out << ToJson(*status).dump() << "\n";
    return absl::OkStatus();
  }
  Render(*status, output, out);
  return absl::OkStatus();
}

}  // namespace fedge::ctl
