#include "simulations/deploy_report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "simulations/svg_chart.h"

namespace fedge {
namespace {

std::vector<const RoundRow*> Deployments(const std::vector<RoundRow>& rows) {
  std::vector<const RoundRow*> out;
  for (const RoundRow& r : rows) {
    if (std::isfinite(r.deploy_int8_accuracy)) out.push_back(&r);
  }
  return out;
}

std::string Pct(double v) { return absl::StrFormat("%.2f%%", 100 * v); }

}  // namespace

nlohmann::json DeploymentsSummary(const std::vector<RoundRow>& rows) {
  nlohmann::json list = nlohmann::json::array();
  for (const RoundRow* r : Deployments(rows)) {
    list.push_back({{"round", r->round},
                    {"version", r->deployed_version},
                    {"teacher_accuracy", r->deploy_teacher_accuracy},
                    {"student_accuracy", r->deploy_student_accuracy},
                    {"int8_accuracy", r->deploy_int8_accuracy},
                    {"artifact_bytes", r->deploy_artifact_bytes},
                    {"size_ratio", r->deploy_size_ratio}});
  }
  return list;
}

std::string DeploymentsHtml(const std::vector<RoundRow>& rows) {
  const std::vector<const RoundRow*> deployments = Deployments(rows);
  if (deployments.empty()) return "";
  std::vector<double> x, test, teacher, student, int8, serving, onsets;
  for (const RoundRow* r : deployments) onsets.push_back(r->round);
  for (const RoundRow& r : rows) {
    x.push_back(r.round);
    serving.push_back(r.devices_serving_deployed);
    test.push_back(100 * r.test_accuracy);
    teacher.push_back(100 * r.deploy_teacher_accuracy);
    student.push_back(100 * r.deploy_student_accuracy);
    int8.push_back(100 * r.deploy_int8_accuracy);
  }
  std::string html = "<h2>Deployed model</h2>\n<div class=\"charts\">\n";
  html += RenderSvg({.title = "Accuracy of each deployment",
                     .y_label = "accuracy (%)",
                     .x = x,
                     .series = {{"global model (every round)", "#c7c7c7", test},
                                {"teacher", "#1f77b4", teacher},
                                {"student fp32", "#ff7f0e", student},
                                {"student int8", "#2ca02c", int8}},
                     .from_zero = false});
  html += RenderSvg({.title = "Devices serving the newest deployment",
                     .y_label = "devices (at the round's close)",
                     .x = x,
                     .series = {{"serving", "#2ca02c", serving}},
                     .markers = onsets,
                     .marker_label = "deployed"});
  html +=
      "</div>\n<table>\n<tr><th>round</th><th>version</th><th>teacher</th><th>student fp32</th>"
      "<th>student int8</th><th>int8 artifact</th><th>smaller than teacher fp32</th>"
      "<th>devices serving (next round)</th></tr>\n";
  for (const RoundRow* r : deployments) {
    // Devices install a deployment when they next poll, so the count of the
    // following round's close is the meaningful one.
    const RoundRow* next = r + 1 < rows.data() + rows.size() ? r + 1 : nullptr;
    absl::StrAppendFormat(&html,
                          "<tr><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%.0f B</td>"
                          "<td>%.1f&times;</td><td>%s</td></tr>\n",
                          r->round, r->deployed_version, Pct(r->deploy_teacher_accuracy),
                          Pct(r->deploy_student_accuracy), Pct(r->deploy_int8_accuracy), r->deploy_artifact_bytes,
                          r->deploy_size_ratio, next ? absl::StrCat(next->devices_serving_deployed) : "n/a");
  }
  html += "</table>\n";
  return html;
}

std::string DeploymentsTerminalLines(const std::vector<RoundRow>& rows) {
  const std::vector<const RoundRow*> deployments = Deployments(rows);
  if (deployments.empty()) return "";
  const RoundRow& r = *deployments.back();
  return absl::StrFormat(
      "  deployed model       v%d at round %d: teacher %s, student fp32 %s, int8 %s; %.0f B, %.1fx smaller "
      "(%d deployments)\n",
      r.deployed_version, r.round, Pct(r.deploy_teacher_accuracy), Pct(r.deploy_student_accuracy),
      Pct(r.deploy_int8_accuracy), r.deploy_artifact_bytes, r.deploy_size_ratio, deployments.size());
}

}  // namespace fedge
