#include "simulations/rollout_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/fedge.pb.h"
#include "simulations/svg_chart.h"

namespace fedge {
namespace {

bool HasRollout(const std::vector<RoundRow>& rows) {
  for (const RoundRow& r : rows) {
    if (r.rollout_version > 0) return true;
  }
  return false;
}

// What happened in the round `r` closed: "aborted", "completed", "advanced" or "".
std::string EventOf(const RoundRow& r) {
  if (r.rollout_aborted > 0) return "aborted";
  if (r.rollout_advanced > 0) return r.rollout_state == proto::ROLLOUT_COMPLETED ? "completed" : "advanced";
  return "";
}

}  // namespace

nlohmann::json RolloutEvents(const std::vector<RoundRow>& rows) {
  nlohmann::json events = nlohmann::json::array();
  for (const RoundRow& r : rows) {
    const std::string event = EventOf(r);
    if (event.empty()) continue;
    events.push_back({{"round", r.round}, {"version", r.rollout_version}, {"stage", r.rollout_stage},
                      {"event", event}});
  }
  return events;
}

std::string RolloutHtml(const std::vector<RoundRow>& rows) {
  if (!HasRollout(rows)) return "";
  std::vector<double> x, rolled, previous, other, markers;
  for (const RoundRow& r : rows) {
    x.push_back(r.round);
    rolled.push_back(r.serving_rollout_version);
    previous.push_back(r.serving_previous_version);
    other.push_back(r.serving_other_version);
    if (!EventOf(r).empty()) markers.push_back(r.round);
  }
  std::string html = "<h2>Staged rollout</h2>\n<div class=\"charts\">\n";
  html += RenderSvg({.title = "Devices per served deployed version",
                     .y_label = "devices (at the round's close)",
                     .x = x,
                     .series = {{"rolled-out version", "#2ca02c", rolled},
                                {"previous version", "#1f77b4", previous},
                                {"other versions", "#c7c7c7", other}},
                     .markers = markers,
                     .marker_label = "rollout event"});
  html +=
      "</div>\n<table>\n<tr><th>round</th><th>version</th><th>stage</th><th>event</th>"
      "<th>serving it</th><th>serving the previous</th><th>serving others</th></tr>\n";
  for (const RoundRow& r : rows) {
    const std::string event = EventOf(r);
    if (event.empty()) continue;
    absl::StrAppendFormat(&html, "<tr><td>%d</td><td>%d</td><td>%d</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td></tr>\n",
                          r.round, r.rollout_version, r.rollout_stage, event, r.serving_rollout_version,
                          r.serving_previous_version, r.serving_other_version);
  }
  html += "</table>\n";
  return html;
}

std::string RolloutTerminalLines(const std::vector<RoundRow>& rows) {
  std::string out;
  for (const RoundRow& r : rows) {
    const std::string event = EventOf(r);
    if (event.empty()) continue;
    absl::StrAppendFormat(&out, "  rollout              round %d: v%d %s (stage %d; %d devices serve it, %d the previous)\n",
                          r.round, r.rollout_version, event, r.rollout_stage, r.serving_rollout_version,
                          r.serving_previous_version);
  }
  return out;
}

}  // namespace fedge
