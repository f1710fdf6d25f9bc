#include "ctl/commands.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/format.h"
#include "ctl/json_view.h"
#include "ctl/table.h"

namespace fedge::ctl {
namespace {

std::string StatusName(proto::DeviceStatus status) {
  return EnumJsonName(*proto::DeviceStatus_descriptor()->FindValueByNumber(status));
}

std::string Version(uint64_t v) { return v == 0 ? "-" : absl::StrCat("v", v); }

std::string MetricOr(const google::protobuf::Map<std::string, double>& metrics, const std::string& name) {
  auto it = metrics.find(name);
  return it == metrics.end() ? "-" : FormatFixed(it->second, 4);
}

std::string RoundResult(const proto::RoundRecord& r) {
  return r.succeeded() ? "ok" : absl::StrCat("failed: ", r.failure());
}

std::string Drift(const proto::DeviceSummary& d) {
  if (d.drift_alarms() == 0) return "-";
  return absl::StrCat(d.drift_alarms(), d.drift().drifting() ? " (drifting)" : "");
}

}  // namespace

absl::StatusOr<proto::DeviceStatus> ParseStatusName(const std::string& name) {
  std::vector<std::string> known;
  const google::protobuf::EnumDescriptor* e = proto::DeviceStatus_descriptor();
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == proto::DEVICE_STATUS_UNSPECIFIED) continue;
    const std::string json = EnumJsonName(*e->value(i));
    if (json == name) return static_cast<proto::DeviceStatus>(e->value(i)->number());
    known.push_back(json);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--status '", name, "' is not a device status; use one of ", absl::StrJoin(known, ", ")));
}

absl::Status ShowStatus(AdminApi& api, const OutputOptions& output, std::ostream& out) {
  proto::StatusRequest request;
  request.set_omit_device_maps(true);
  request.set_max_rounds(1);
  absl::StatusOr<proto::StatusResponse> s = api.GetStatus(request);
  if (!s.ok()) return s.status();
  if (output.json) {
    out << ToJson(*s).dump() << "\n";
    return absl::OkStatus();
  }
  std::string round = absl::StrCat(s->current_round());
  if (s->round_limit() > 0) absl::StrAppend(&round, " of ", s->round_limit());
  absl::StrAppend(&round, s->finished() ? " (finished)" : s->round_open() ? " (open)" : " (between rounds)");
  std::vector<std::string> by_status;
  for (const char* name : {"active", "offline", "pending", "revoked"}) {
    auto it = s->devices_by_status().find(name);
    by_status.push_back(absl::StrCat(it == s->devices_by_status().end() ? 0 : it->second, " ", name));
  }
  std::vector<std::pair<std::string, std::string>> rows = {
      {"round", round},
      {"completed rounds", absl::StrCat(s->completed_rounds())},
      {"global model", Version(s->model_version())},
      {"deployed model", Version(s->deployed_model_version())},
      {"devices", absl::StrCat(s->registered_devices(), " registered: ", absl::StrJoin(by_status, ", "))},
  };
  if (s->recent_rounds_size() > 0) {
    const proto::RoundRecord& r = s->recent_rounds(s->recent_rounds_size() - 1);
    rows.push_back({"last round", absl::StrCat(r.round(), " ", RoundResult(r), ": ", r.accepted(), " accepted of ",
                                               r.selected(), " selected, ", r.rejected(), " rejected, ", r.late(),
                                               " late; test_accuracy ", MetricOr(r.metrics(), "test_accuracy"))});
  }
  out << RenderKeyValues(rows);
  return absl::OkStatus();
}

absl::Status ShowDevices(AdminApi& api, const DevicesQuery& query, const OutputOptions& output, std::ostream& out) {
  proto::ListDevicesRequest request;
  if (query.status) request.set_status(*query.status);
  request.set_page_size(query.page_size);
  std::vector<proto::DeviceSummary> devices;
  do {
    absl::StatusOr<proto::ListDevicesResponse> page = api.ListDevices(request);
    if (!page.ok()) return page.status();
    for (proto::DeviceSummary& d : *page->mutable_devices()) {
      if (query.limit > 0 && static_cast<int64_t>(devices.size()) >= query.limit) break;
      devices.push_back(std::move(d));
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty() && (query.limit == 0 || static_cast<int64_t>(devices.size()) < query.limit));
  if (output.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const proto::DeviceSummary& d : devices) list.push_back(ToJson(d));
    out << nlohmann::json{{"devices", std::move(list)}, {"count", devices.size()}}.dump() << "\n";
    return absl::OkStatus();
  }
  Table table({"DEVICE", "STATUS", "LAST SEEN", "ROUNDS", "ACCEPTED", "REJECTED", "TRAINED ON", "SERVING", "HEALTH",
               "EPSILON", "DRIFT ALARMS"});
  for (const proto::DeviceSummary& d : devices) {
    table.AddRow({d.device_id(), StatusName(d.status()), FormatAge(d.last_seen_unix_micros(), output.now),
                  absl::StrCat(d.rounds_joined()), absl::StrCat(d.updates_accepted()),
                  absl::StrCat(d.updates_rejected()), Version(d.training_model_version()),
                  Version(d.inference_model_version()), d.inference_health(), FormatFixed(d.epsilon_spent(), 3),
                  Drift(d)});
  }
  out << table.Render();
  return absl::OkStatus();
}

absl::Status ShowDevice(AdminApi& api, const std::string& device_id, const OutputOptions& output, std::ostream& out) {
  absl::StatusOr<proto::DeviceSummary> d = api.GetDevice(device_id);
  if (!d.ok()) return d.status();
  if (output.json) {
    out << ToJson(*d).dump() << "\n";
    return absl::OkStatus();
  }
  std::string rejection = d->last_rejection().empty()
                              ? "-"
                              : absl::StrCat(d->last_rejection(), " (", FormatTime(d->last_rejection_unix_micros()), ")");
  std::string drift = "-";
  if (d->drift().alarms() > 0) {
    drift = absl::StrCat(d->drift().alarms(), " alarms, last ", FormatTime(d->drift().last_alarm_unix_micros()), " by ",
                         d->drift().last_detector(), " (statistic ", FormatFixed(d->drift().last_statistic(), 4), ")",
                         d->drift().drifting() ? "; drifting" : "; adapted");
  }
  out << RenderKeyValues({
      {"device", d->device_id()},
      {"status", StatusName(d->status())},
      {"certificate sha256", d->certificate_sha256().empty() ? "-" : d->certificate_sha256()},
      {"examples", absl::StrCat(d->info().num_examples())},
      {"first seen", FormatTime(d->first_seen_unix_micros())},
      {"last seen", absl::StrCat(FormatTime(d->last_seen_unix_micros()), " (",
                                 FormatAge(d->last_seen_unix_micros(), output.now), ")")},
      {"eligible", d->eligible() ? "yes" : absl::StrCat("no (", d->ineligible_reason(), ")")},
      {"rounds joined", absl::StrCat(d->rounds_joined())},
      {"updates", absl::StrCat(d->updates_accepted(), " accepted, ", d->updates_rejected(), " rejected")},
      {"last rejection", rejection},
      {"trained on", Version(d->training_model_version())},
      {"serving", absl::StrCat(Version(d->inference_model_version()), " (", d->inference_health(), ")")},
      {"epsilon spent", FormatFixed(d->epsilon_spent(), 4)},
      {"drift", drift},
      {"reported", absl::StrCat(FormatMetrics(d->metrics()), " (", FormatAge(d->last_report_unix_micros(), output.now),
                                ")")},
  });
  return absl::OkStatus();
}

absl::Status ShowRounds(AdminApi& api, uint32_t last, const OutputOptions& output, std::ostream& out) {
  proto::StatusRequest request;
  request.set_omit_device_maps(true);
  request.set_max_rounds(last);
  absl::StatusOr<proto::StatusResponse> s = api.GetStatus(request);
  if (!s.ok()) return s.status();
  if (output.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const proto::RoundRecord& r : s->recent_rounds()) list.push_back(ToJson(r));
    out << nlohmann::json{{"rounds", std::move(list)}}.dump() << "\n";
    return absl::OkStatus();
  }
  Table table({"ROUND", "RESULT", "SELECTED", "ACCEPTED", "REJECTED", "LATE", "MODEL", "DEPLOYED", "SECONDS",
               "TEST ACCURACY", "TEST LOSS", "CLOSED"});
  for (const proto::RoundRecord& r : s->recent_rounds()) {
    const double seconds = static_cast<double>(r.closed_unix_micros() - r.started_unix_micros()) / 1e6;
    table.AddRow({absl::StrCat(r.round()), RoundResult(r), absl::StrCat(r.selected()), absl::StrCat(r.accepted()),
                  absl::StrCat(r.rejected()), absl::StrCat(r.late()), Version(r.model_version()),
                  Version(r.deployed_model_version()), FormatFixed(seconds, 1), MetricOr(r.metrics(), "test_accuracy"),
                  MetricOr(r.metrics(), "test_loss"), FormatTime(r.closed_unix_micros())});
  }
  out << table.Render();
  return absl::OkStatus();
}

absl::Status ShowModels(AdminApi& api, const OutputOptions& output, std::ostream& out) {
  absl::StatusOr<proto::ListModelsResponse> models = api.ListModels();
  if (!models.ok()) return models.status();
  if (output.json) {
    out << ToJson(*models).dump() << "\n";
    return absl::OkStatus();
  }
  Table table({"KIND", "VERSION", "CURRENT", "FROM", "DEVICES", "SIZE", "CREATED", "SHA256", "METRICS"});
  for (const proto::ModelSummary& m : models->models()) {
    table.AddRow({m.kind(), Version(m.version()), m.current() ? "yes" : "no", Version(m.parent_version()),
                  absl::StrCat(m.devices()), m.current() ? FormatBytes(m.size_bytes()) : "-",
                  FormatTime(m.created_unix_micros()), m.sha256().empty() ? "-" : m.sha256().substr(0, 12),
                  FormatMetrics(m.metrics())});
  }
  out << table.Render();
  return absl::OkStatus();
}

absl::Status RunBackup(AdminApi& api, const std::string& path, const OutputOptions& output, std::ostream& out) {
  absl::StatusOr<proto::BackupResponse> done = api.Backup(path);
  if (!done.ok()) return done.status();
  if (output.json) {
    out << ToJson(*done).dump() << "\n";
    return absl::OkStatus();
  }
  out << "backed up the coordinator's state to " << done->path() << " on the coordinator's host ("
      << FormatBytes(done->database_bytes()) << " database, " << done->model_files() << " model files)\n";
  return absl::OkStatus();
}

}  // namespace fedge::ctl
