#include "simulations/comparison.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/strings.h"
#include "simulations/drift_report.h"
#include "simulations/svg_chart.h"
#include "simulations/time_to_target.h"

namespace fedge {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double Get(const nlohmann::json& j, const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN; }

// "table.key" -> value text, for listing what a variant changes.
void Flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [key, value] : j.items()) {
    const std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    if (value.is_object()) {
      Flatten(value, path, out);
    } else {
      out[path] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
}

std::vector<std::string> Overrides(const Scenario& base, const Scenario& variant) {
  const nlohmann::json base_json = ScenarioToJson(base), variant_json = ScenarioToJson(variant);
  std::map<std::string, std::string> a, b;
  Flatten(base_json, "", a);
  Flatten(variant_json, "", b);
  std::vector<std::string> changed;
  for (const auto& [key, value] : b) {
    auto it = a.find(key);
    if (it == a.end() || it->second != value) changed.push_back(absl::StrCat(key, " = ", value));
  }
  // A table the variant switches off (e.g. dp) is listed once.
  for (const auto& [key, value] : base_json.items()) {
    if (!variant_json.contains(key)) changed.push_back(absl::StrCat(key, " off"));
  }
  return changed;
}

// The last finite value of a per-round field.
template <typename F>
double Last(const std::vector<RoundRow>& rows, F field) {
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if (std::isfinite(field(*it))) return field(*it);
  }
  return NAN;
}

// FormatSpec checks each literal format against a double at compile time
// (clang refuses a plain `const char*` format in absl::StrFormat).
std::string Cell(double v, const absl::FormatSpec<double>& format) {
  return std::isfinite(v) ? absl::StrFormat(format, v) : "–";
}

}  // namespace

void ComparisonReport::Add(std::string label, RunReport report, RunTimings timings) {
  runs_.push_back({std::move(label), std::move(report), timings});
}

nlohmann::json ComparisonReport::Figures(const Run& run) const {
  const nlohmann::json s = run.report.Summary(run.timings);
  const std::vector<RoundRow>& rows = run.report.rows();
  double fp32_bytes = 0, bytes_up = 0;
  for (const RoundRow& r : rows) {
    if (!std::isfinite(r.compression_ratio)) continue;
    fp32_bytes += r.compression_ratio * static_cast<double>(r.bytes_up);
    bytes_up += static_cast<double>(r.bytes_up);
  }
  nlohmann::json f;
  f["label"] = run.label;
  f["codec"] = run.report.scenario().training.codec;
  f["final_test_accuracy"] = s["final_test_accuracy"];
  f["best_test_accuracy"] = s["best_test_accuracy"];
  f["best_round"] = s["best_round"];
  f["rounds_completed"] = s["rounds_completed"];
  f["bytes_up"] = s["totals"]["bytes_up"];
  f["bytes_down"] = s["totals"]["bytes_down"];
  f["compression_ratio"] = Number(bytes_up > 0 ? fp32_bytes / bytes_up : NAN);
  f["epsilon_device_median"] = Number(Last(rows, [](const RoundRow& r) { return r.epsilon_device_median; }));
  f["epsilon_device_max"] = Number(Last(rows, [](const RoundRow& r) { return r.epsilon_device_max; }));
  f["client_epsilon"] = Number(Last(rows, [](const RoundRow& r) { return r.client_epsilon; }));
  if (run.report.scenario().drift.enabled()) f["drift"] = DriftSummary(run.report.scenario(), rows);
  f["wall_s"] = run.timings.total_s;
  f["report"] = absl::StrCat(run.label, "/report.html");
  const Run& base = runs_.front();
  f["overrides"] = Overrides(base.report.scenario(), run.report.scenario());
  const nlohmann::json b = base.report.Summary(base.timings);
  const double base_up = Get(b["totals"], "bytes_up"), up = Get(s["totals"], "bytes_up");
  f["upload_reduction_vs_base"] = Number(up > 0 ? base_up / up : NAN);
  f["accuracy_change_vs_base_points"] =
      Number(100 * (Get(s, "final_test_accuracy") - Get(b, "final_test_accuracy")));
  // Simulated time and updates to reach the base run's final accuracy
  // (async.toml: async against sync), and that time as a share of the base
  // run's whole simulated time.
  const double target = Get(b, "final_test_accuracy");
  if (std::isfinite(target) && !base.report.rows().empty()) {
    const TimeToTarget reached = FirstReaching(rows, target);
    const double base_time = base.report.rows().back().sim_time_s;
    f["target_accuracy"] = target;
    f["time_to_target_s"] = Number(reached.sim_time_s);
    f["updates_to_target"] = reached.reached ? nlohmann::json(reached.updates) : nlohmann::json(nullptr);
    f["time_to_target_share_of_base"] = Number(base_time > 0 ? reached.sim_time_s / base_time : NAN);
    f["sim_time_s"] = rows.empty() ? 0.0 : rows.back().sim_time_s;
  }
  return f;
}

nlohmann::json ComparisonReport::Summary() const {
  nlohmann::json j;
  j["name"] = name_;
  j["base"] = runs_.empty() ? "" : runs_.front().label;
  j["variants"] = nlohmann::json::array();
  for (const Run& run : runs_) j["variants"].push_back(Figures(run));
  return j;
}

std::string ComparisonReport::Html() const {
  const std::string name = HtmlEscape(name_);
  std::string html = absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fedge-sim: ",
                                  name, " (variants)</title>\n<style>", AsAbsl(ReportStyle()),
                                  "</style></head>\n<body>\n<h1>fedge-sim comparison: ", name, "</h1>\n");
  absl::StrAppendFormat(&html, "<div class=\"sub\">%d runs with the same seed; the first is the base</div>\n",
                        runs_.size());
  size_t max_rounds = 0;
  for (const Run& run : runs_) max_rounds = std::max(max_rounds, run.report.rows().size());
  std::vector<double> x(max_rounds);
  for (size_t i = 0; i < max_rounds; ++i) x[i] = static_cast<double>(i + 1);
  // One overlaid series per run of a per-round field (NaN past a run's end).
  auto series = [&](auto field, double scale) {
    std::vector<ChartSeries> out;
    for (size_t v = 0; v < runs_.size(); ++v) {
      std::vector<double> values(max_rounds, NAN);
      const std::vector<RoundRow>& rows = runs_[v].report.rows();
      for (size_t i = 0; i < rows.size(); ++i) values[i] = scale * field(rows[i]);
      out.push_back({runs_[v].label, kPalette[v % std::size(kPalette)], std::move(values)});
    }
    return out;
  };
  auto any = [&](auto field) {
    for (const Run& run : runs_) {
      for (const RoundRow& r : run.report.rows()) {
        if (std::isfinite(field(r))) return true;
      }
    }
    return false;
  };
  const auto eps_device = [](const RoundRow& r) { return r.epsilon_device_median; };
  const auto eps_client = [](const RoundRow& r) { return r.client_epsilon; };
  html += "<h2>Rounds</h2>\n<div class=\"charts\">\n";
  html += RenderSvg({.title = "Test accuracy",
                     .y_label = "accuracy (%)",
                     .x = x,
                     .series = series([](const RoundRow& r) { return r.test_accuracy; }, 100),
                     .y_max = 100});
  {
    std::vector<std::string> labels, colors(std::begin(kPalette), std::end(kPalette));
    std::vector<const RunReport*> reports;
    for (const Run& run : runs_) labels.push_back(run.label), reports.push_back(&run.report);
    html += DriftComparisonHtml(labels, reports, colors);
  }
  html += RenderSvg({.title = "Bytes up per round",
                     .y_label = "MB",
                     .x = x,
                     .series = series([](const RoundRow& r) { return static_cast<double>(r.bytes_up); }, 1e-6)});
  if (any(eps_device)) {
    html += RenderSvg({.title = "Device ε spent (median)", .y_label = "ε", .x = x, .series = series(eps_device, 1)});
  }
  if (any(eps_client)) {
    html += RenderSvg({.title = "Client-level ε", .y_label = "ε", .x = x, .series = series(eps_client, 1)});
  }
  html +=
      "</div>\n<h2>Comparison</h2>\n<table>\n<tr><th>variant</th><th>changes</th><th>final accuracy</th>"
      "<th>best accuracy</th><th>Δ vs base</th><th>up</th><th>down</th><th>compression ratio</th>"
      "<th>upload ÷ vs base</th><th>ε device (median / max)</th><th>client ε</th><th>wall</th></tr>\n";
  for (const Run& run : runs_) {
    const nlohmann::json f = Figures(run);
    std::vector<std::string> changes = f["overrides"].get<std::vector<std::string>>();
    absl::StrAppend(&html, "<tr><th><a href=\"", HtmlEscape(f["report"].get<std::string>()), "\">",
                    HtmlEscape(run.label), "</a></th><td>",
                    changes.empty() ? "(base)" : HtmlEscape(absl::StrJoin(changes, ", ")), "</td>");
    absl::StrAppend(&html, "<td>", Cell(100 * Get(f, "final_test_accuracy"), "%.2f%%"), "</td><td>",
                    Cell(100 * Get(f, "best_test_accuracy"), "%.2f%%"), " (round ", f["best_round"].dump(), ")</td><td>",
                    Cell(Get(f, "accuracy_change_vs_base_points"), "%+.2f pt"), "</td>");
    absl::StrAppend(&html, "<td>", Cell(Get(f, "bytes_up") / 1e6, "%.3f MB"), "</td><td>",
                    Cell(Get(f, "bytes_down") / 1e6, "%.2f MB"), "</td><td>", Cell(Get(f, "compression_ratio"), "%.2f×"),
                    "</td><td>", Cell(Get(f, "upload_reduction_vs_base"), "%.2f×"), "</td>");
    absl::StrAppend(&html, "<td>", Cell(Get(f, "epsilon_device_median"), "%.3f"), " / ",
                    Cell(Get(f, "epsilon_device_max"), "%.3f"), "</td><td>", Cell(Get(f, "client_epsilon"), "%.3f"),
                    "</td><td>", Cell(run.timings.total_s, "%.1f s"), "</td></tr>\n");
  }
  html += "</table>\n</body></html>\n";
  return html;
}

std::string ComparisonReport::TerminalSummary(const std::string& dir) const {
  std::string s = absl::StrFormat("\n== fedge-sim: %s, %d variants ==\n", name_, runs_.size());
  absl::StrAppendFormat(&s, "  %-20s %9s %9s %12s %8s %9s %10s %8s\n", "variant", "final", "Δ pt", "MB up", "ratio",
                        "up ÷ base", "ε max", "wall s");
  for (const Run& run : runs_) {
    const nlohmann::json f = Figures(run);
    absl::StrAppendFormat(&s, "  %-20s %9s %9s %12s %8s %9s %10s %8.1f\n", run.label,
                          Cell(100 * Get(f, "final_test_accuracy"), "%.2f%%"),
                          Cell(Get(f, "accuracy_change_vs_base_points"), "%+.2f"),
                          Cell(Get(f, "bytes_up") / 1e6, "%.3f"), Cell(Get(f, "compression_ratio"), "%.2f"),
                          Cell(Get(f, "upload_reduction_vs_base"), "%.2f"), Cell(Get(f, "epsilon_device_max"), "%.3f"),
                          run.timings.total_s);
  }
  if (!runs_.empty() && std::isfinite(Get(Figures(runs_.front()), "target_accuracy"))) {
    absl::StrAppendFormat(&s, "  to the base run's final accuracy (%s):\n",
                          Cell(100 * Get(Figures(runs_.front()), "target_accuracy"), "%.2f%%"));
    for (const Run& run : runs_) {
      const nlohmann::json f = Figures(run);
      absl::StrAppendFormat(&s, "  %-20s %10s simulated s (%s of the base run's %s s), %s updates\n", run.label,
                            Cell(Get(f, "time_to_target_s"), "%.1f"),
                            Cell(100 * Get(f, "time_to_target_share_of_base"), "%.1f%%"),
                            Cell(Get(Figures(runs_.front()), "sim_time_s"), "%.1f"),
                            Cell(Get(f, "updates_to_target"), "%.0f"));
    }
  }
  for (const Run& run : runs_) {
    const std::string drift = DriftTerminalLines(run.report.scenario(), run.report.rows());
    if (!drift.empty()) absl::StrAppend(&s, "  [", run.label, "]\n", drift);
  }
  absl::StrAppendFormat(&s, "  report  %s/report.html\n", dir);
  return s;
}

absl::Status ComparisonReport::WriteAll(const std::string& dir) const {
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(dir, "/summary.json"), Summary().dump(2) + "\n"));
  return WriteFileAtomically(absl::StrCat(dir, "/report.html"), Html());
}

}  // namespace fedge
