#include "simulations/report.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/strings.h"
#include "simulations/deploy_report.h"
#include "simulations/rollout_report.h"
#include "simulations/drift_report.h"
#include "simulations/privacy_report.h"
#include "simulations/svg_chart.h"

namespace fedge {
namespace {

struct Column {
  std::string name;
  std::function<std::string(const RoundRow&)> format;
};

std::string Real(double v, int digits) { return std::isfinite(v) ? absl::StrFormat("%.*f", digits, v) : ""; }

// The one place that declares rounds.csv's columns.
const std::vector<Column>& Columns() {
  static const auto* columns = new std::vector<Column>{
      {"round", [](const RoundRow& r) { return absl::StrCat(r.round); }},
      {"succeeded", [](const RoundRow& r) { return r.succeeded ? "1" : "0"; }},
      {"test_accuracy", [](const RoundRow& r) { return Real(r.test_accuracy, 6); }},
      {"test_loss", [](const RoundRow& r) { return Real(r.test_loss, 6); }},
      {"participants", [](const RoundRow& r) { return absl::StrCat(r.participants); }},
      {"selected", [](const RoundRow& r) { return absl::StrCat(r.selected); }},
      {"dropped", [](const RoundRow& r) { return absl::StrCat(r.dropped); }},
      {"rejected", [](const RoundRow& r) { return absl::StrCat(r.rejected); }},
      {"malicious", [](const RoundRow& r) { return absl::StrCat(r.malicious); }},
      {"bytes_up", [](const RoundRow& r) { return absl::StrCat(r.bytes_up); }},
      {"bytes_down", [](const RoundRow& r) { return absl::StrCat(r.bytes_down); }},
      {"compression_ratio", [](const RoundRow& r) { return Real(r.compression_ratio, 3); }},
      {"epsilon_device_median", [](const RoundRow& r) { return Real(r.epsilon_device_median, 4); }},
      {"epsilon_device_max", [](const RoundRow& r) { return Real(r.epsilon_device_max, 4); }},
      {"client_epsilon", [](const RoundRow& r) { return Real(r.client_epsilon, 4); }},
      {"drift_progress", [](const RoundRow& r) { return Real(r.drift_progress, 3); }},
      {"drift_alarms", [](const RoundRow& r) { return absl::StrCat(r.drift_alarms); }},
      {"alarms_drifted", [](const RoundRow& r) { return absl::StrCat(r.alarms_drifted); }},
      {"alarms_undrifted", [](const RoundRow& r) { return absl::StrCat(r.alarms_undrifted); }},
      {"drifting_devices", [](const RoundRow& r) { return absl::StrCat(r.drifting_devices); }},
      {"drift_detected", [](const RoundRow& r) { return absl::StrCat(r.drift_detected); }},
      {"false_alarm_devices", [](const RoundRow& r) { return absl::StrCat(r.false_alarm_devices); }},
      {"drifted_accuracy", [](const RoundRow& r) { return Real(r.drifted_accuracy, 6); }},
      {"deployed_version", [](const RoundRow& r) { return absl::StrCat(r.deployed_version); }},
      {"devices_serving_deployed", [](const RoundRow& r) { return absl::StrCat(r.devices_serving_deployed); }},
      {"deploy_teacher_accuracy", [](const RoundRow& r) { return Real(r.deploy_teacher_accuracy, 6); }},
      {"deploy_student_accuracy", [](const RoundRow& r) { return Real(r.deploy_student_accuracy, 6); }},
      {"deploy_int8_accuracy", [](const RoundRow& r) { return Real(r.deploy_int8_accuracy, 6); }},
      {"deploy_artifact_bytes", [](const RoundRow& r) { return Real(r.deploy_artifact_bytes, 0); }},
      {"deploy_size_ratio", [](const RoundRow& r) { return Real(r.deploy_size_ratio, 3); }},
      {"rollout_version", [](const RoundRow& r) { return absl::StrCat(r.rollout_version); }},
      {"rollout_stage", [](const RoundRow& r) { return absl::StrCat(r.rollout_stage); }},
      {"rollout_state", [](const RoundRow& r) { return absl::StrCat(r.rollout_state); }},
      {"rollout_advanced", [](const RoundRow& r) { return absl::StrCat(r.rollout_advanced); }},
      {"rollout_aborted", [](const RoundRow& r) { return absl::StrCat(r.rollout_aborted); }},
      {"serving_rollout_version", [](const RoundRow& r) { return absl::StrCat(r.serving_rollout_version); }},
      {"serving_previous_version", [](const RoundRow& r) { return absl::StrCat(r.serving_previous_version); }},
      {"serving_other_version", [](const RoundRow& r) { return absl::StrCat(r.serving_other_version); }},
      {"secagg_bytes_up_per_device", [](const RoundRow& r) { return Real(r.secagg_bytes_up_per_device, 1); }},
      {"secagg_bytes_down_per_device", [](const RoundRow& r) { return Real(r.secagg_bytes_down_per_device, 1); }},
      {"secagg_stage_seconds", [](const RoundRow& r) { return Real(r.secagg_stage_seconds, 3); }},
      {"sim_time_s", [](const RoundRow& r) { return Real(r.sim_time_s, 3); }},
      {"wall_time_s", [](const RoundRow& r) { return Real(r.wall_time_s, 3); }},
  };
  return *columns;
}

struct Totals {
  uint64_t bytes_up = 0, bytes_down = 0;
  int64_t participants = 0, selected = 0, dropped = 0, rejected = 0, succeeded = 0;
  double wall_s = 0;
  double final_accuracy = NAN, final_loss = NAN, best_accuracy = NAN;
  int64_t best_round = 0;
};

Totals Sum(const std::vector<RoundRow>& rows) {
  Totals t;
  for (const RoundRow& r : rows) {
    t.bytes_up += r.bytes_up;
    t.bytes_down += r.bytes_down;
    t.participants += r.participants;
    t.selected += r.selected;
    t.dropped += r.dropped;
    t.rejected += r.rejected;
    t.succeeded += r.succeeded;
    t.wall_s += r.wall_time_s;
    if (std::isfinite(r.test_accuracy)) {
      t.final_accuracy = r.test_accuracy;
      t.final_loss = r.test_loss;
      if (!(t.best_accuracy >= r.test_accuracy)) t.best_accuracy = r.test_accuracy, t.best_round = r.round;
    }
  }
  return t;
}

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string Megabytes(uint64_t bytes) { return absl::StrFormat("%.2f MB", bytes / 1e6); }

double PerDevice(const Scenario& scenario, int64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(scenario.population.num_devices);
}

std::string Percent(double v) { return std::isfinite(v) ? absl::StrFormat("%.2f%%", 100 * v) : "n/a"; }

// Flattens nested scenario JSON into "table.key" rows.
void ScenarioRows(const nlohmann::json& j, const std::string& prefix, std::string& html) {
  for (const auto& [key, value] : j.items()) {
    const std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    if (value.is_object()) {
      ScenarioRows(value, path, html);
    } else {
      absl::StrAppend(&html, "<tr><th>", HtmlEscape(path), "</th><td>",
                      HtmlEscape(value.is_string() ? value.get<std::string>() : value.dump()), "</td></tr>\n");
    }
  }
}

constexpr char kStyle[] = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 24px 0 8px; }
.sub { color: #666; margin-bottom: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: 10px 14px; min-width: 130px; }
.card b { display: block; font-size: 20px; } .card span { color: #666; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #dde; border-radius: 6px; }
svg .title { font-size: 14px; font-weight: 600; fill: #222; }
svg .tick, svg .legend { font-size: 11px; fill: #444; } svg .label { font-size: 12px; fill: #444; }
svg .grid { stroke: #e6e6ea; } svg .frame { fill: none; stroke: #99a; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #dde; padding: 3px 10px; text-align: left; } th { background: #eef0f4; font-weight: 600; }
)css";

}  // namespace

const std::vector<std::string>& RoundColumns() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>();
    for (const Column& c : Columns()) v->push_back(c.name);
    return v;
  }();
  return *names;
}

std::string_view ReportStyle() { return kStyle; }

std::string RunReport::RoundsCsv() const {
  std::string csv = absl::StrCat(absl::StrJoin(RoundColumns(), ","), "\n");
  std::vector<std::string> cells;
  for (const RoundRow& row : rows_) {
    cells.clear();
    for (const Column& c : Columns()) cells.push_back(c.format(row));
    absl::StrAppend(&csv, absl::StrJoin(cells, ","), "\n");
  }
  return csv;
}

nlohmann::json RunReport::Summary(const RunTimings& timings) const {
  const Totals t = Sum(rows_);
  nlohmann::json j;
  j["scenario"] = ScenarioToJson(scenario_);
  j["rounds_completed"] = rows_.size();
  j["rounds_succeeded"] = t.succeeded;
  j["final_test_accuracy"] = Number(t.final_accuracy);
  j["final_test_loss"] = Number(t.final_loss);
  j["best_test_accuracy"] = Number(t.best_accuracy);
  j["best_round"] = t.best_round;
  j["totals"] = {{"bytes_up", t.bytes_up}, {"bytes_down", t.bytes_down}, {"participants", t.participants},
                 {"selected", t.selected}, {"dropped", t.dropped},       {"rejected", t.rejected}};
  j["timings"] = {{"setup_s", timings.setup_s},
                  {"rounds_wall_s", t.wall_s},
                  {"total_wall_s", timings.total_s},
                  {"mean_round_wall_s", rows_.empty() ? 0.0 : t.wall_s / rows_.size()},
                  {"sim_time_s", rows_.empty() ? 0.0 : rows_.back().sim_time_s}};
  if (const PopulationBytes& p = timings.population; p.total() > 0) {
    j["population"] = {{"devices", scenario_.population.num_devices},
                       {"bytes_per_device", PerDevice(scenario_, p.total())},
                       {"simulator_bytes_per_device", PerDevice(scenario_, p.simulator)},
                       {"registry_bytes_per_device", PerDevice(scenario_, p.registry)}};
  }
  if (scenario_.drift.enabled()) j["drift"] = DriftSummary(scenario_, rows_);
  if (scenario_.deploy.enabled()) j["deployments"] = DeploymentsSummary(rows_);
  if (scenario_.rollout.enabled) j["rollout_events"] = RolloutEvents(rows_);
  j["columns"] = RoundColumns();
  return j;
}

std::string RunReport::Html(const RunTimings& timings) const {
  const Totals t = Sum(rows_);
  std::vector<double> x, acc, loss, up, down, selected, accepted, dropped, rejected;
  for (const RoundRow& r : rows_) {
    x.push_back(r.round);
    acc.push_back(100 * r.test_accuracy);
    loss.push_back(r.test_loss);
    up.push_back(r.bytes_up / 1e6);
    down.push_back(r.bytes_down / 1e6);
    selected.push_back(r.selected);
    accepted.push_back(r.participants);
    dropped.push_back(r.dropped);
    rejected.push_back(r.rejected);
  }
  const std::string name = HtmlEscape(scenario_.name);
  std::string html =
      absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fedge-sim: ", name,
                   "</title>\n<style>", kStyle, "</style></head>\n<body>\n<h1>fedge-sim report: ", name, "</h1>\n");
  absl::StrAppendFormat(&html, "<div class=\"sub\">%d devices, model %s, %s partition, %d rounds run</div>\n",
                        scenario_.population.num_devices, HtmlEscape(scenario_.model.name),
                        HtmlEscape(scenario_.data.partition), rows_.size());
  auto card = [&](std::string_view label, const std::string& value) {
    absl::StrAppend(&html, "<div class=\"card\"><b>", HtmlEscape(value), "</b><span>", HtmlEscape(label),
                    "</span></div>\n");
  };
  html += "<div class=\"cards\">\n";
  card("final test accuracy", Percent(t.final_accuracy));
  card(absl::StrCat("best accuracy (round ", t.best_round, ")"), Percent(t.best_accuracy));
  card("uploaded", Megabytes(t.bytes_up));
  card("downloaded", Megabytes(t.bytes_down));
  card("updates accepted", absl::StrCat(t.participants, " of ", t.selected, " sampled"));
  card("simulated time", absl::StrFormat("%.1f s", rows_.empty() ? 0.0 : rows_.back().sim_time_s));
  card("wall time", absl::StrFormat("%.1f s", timings.total_s));
  html += "</div>\n<h2>Rounds</h2>\n<div class=\"charts\">\n";
  html += RenderSvg({.title = "Test accuracy",
                     .y_label = "accuracy (%)",
                     .x = x,
                     .series = {{"test accuracy", "#1f77b4", acc}},
                     .y_max = 100});
  html +=
      RenderSvg({.title = "Test loss", .y_label = "cross-entropy", .x = x, .series = {{"test loss", "#d62728", loss}}});
  html += RenderSvg({.title = "Traffic per round",
                     .y_label = "MB",
                     .x = x,
                     .series = {{"bytes up", "#2ca02c", up}, {"bytes down", "#9467bd", down}}});
  html += RenderSvg({.title = "Participation per round",
                     .y_label = "devices",
                     .x = x,
                     .series = {{"selected", "#7f7f7f", selected},
                                {"accepted", "#1f77b4", accepted},
                                {"dropped", "#ff7f0e", dropped},
                                {"rejected", "#d62728", rejected}}});
  html += "</div>\n";
  html += CompressionPrivacyHtml(rows_);
  html += DriftHtml(scenario_, rows_);
  html += DeploymentsHtml(rows_);
  html += RolloutHtml(rows_);
  html += "<h2>Scenario</h2>\n<table>\n";
  ScenarioRows(ScenarioToJson(scenario_), "", html);
  html += "</table>\n</body></html>\n";
  return html;
}

std::string RunReport::TerminalSummary(const RunTimings& timings, const std::string& dir) const {
  const Totals t = Sum(rows_);
  std::string s = absl::StrFormat("\n== fedge-sim: %s ==\n", scenario_.name);
  absl::StrAppendFormat(&s, "  rounds               %d completed, %d succeeded\n", rows_.size(), t.succeeded);
  absl::StrAppendFormat(&s, "  final test accuracy  %s (loss %s)\n", Percent(t.final_accuracy), Real(t.final_loss, 4));
  absl::StrAppendFormat(&s, "  best test accuracy   %s at round %d\n", Percent(t.best_accuracy), t.best_round);
  absl::StrAppendFormat(&s, "  updates              %d accepted, %d dropped, %d rejected of %d sampled\n",
                        t.participants, t.dropped, t.rejected, t.selected);
  absl::StrAppendFormat(&s, "  traffic              %s up, %s down\n", Megabytes(t.bytes_up), Megabytes(t.bytes_down));
  absl::StrAppendFormat(&s, "  time                 %.1f s wall (setup %.1f s), %.1f s simulated\n", timings.total_s,
                        timings.setup_s, rows_.empty() ? 0.0 : rows_.back().sim_time_s);
  if (const PopulationBytes& p = timings.population; p.total() > 0) {
    absl::StrAppendFormat(&s,
                          "  population           %d devices, %.0f B each when not sampled (simulator %.0f B, "
                          "coordinator registry %.0f B)\n",
                          scenario_.population.num_devices, PerDevice(scenario_, p.total()),
                          PerDevice(scenario_, p.simulator), PerDevice(scenario_, p.registry));
  }
  s += CompressionPrivacyTerminalLines(rows_);
  s += DriftTerminalLines(scenario_, rows_);
  s += DeploymentsTerminalLines(rows_);
  s += RolloutTerminalLines(rows_);
  absl::StrAppendFormat(&s, "  report               %s/report.html\n", dir);
  return s;
}

absl::Status RunReport::WriteCsv(const std::string& dir) const {
  return WriteFileAtomically(absl::StrCat(dir, "/rounds.csv"), RoundsCsv());
}

absl::Status RunReport::WriteAll(const std::string& dir, const RunTimings& timings) const {
  FEDGE_RETURN_IF_ERROR(WriteCsv(dir));
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(dir, "/summary.json"), Summary(timings).dump(2) + "\n"));
  return WriteFileAtomically(absl::StrCat(dir, "/report.html"), Html(timings));
}

}  // namespace fedge
