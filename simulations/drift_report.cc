#include "simulations/drift_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "simulations/svg_chart.h"

namespace fedge {
namespace {

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string Percent(double v) { return std::isfinite(v) ? absl::StrFormat("%.1f%%", 100 * v) : "n/a"; }

struct Figures {
  int64_t onset = 0;
  int64_t drifted = 0, undrifted = 0;
  double detected_in_time = NAN;  // share of drifted devices
  double detected_by_end = NAN;
  double false_alarm_share = NAN;  // share of undrifted devices, whole run
  double pre_accuracy = NAN, min_accuracy = NAN, final_accuracy = NAN;
  int64_t min_round = 0;
  int64_t recovery_round = 0;  // 0: not recovered
};

double Share(int64_t part, int64_t whole) { return whole > 0 ? static_cast<double>(part) / whole : NAN; }

Figures Compute(const Scenario& scenario, const std::vector<RoundRow>& rows) {
  Figures f;
  f.onset = scenario.drift.start_round;
  if (rows.empty()) return f;
  f.drifted = rows.back().drifted_devices;
  f.undrifted = scenario.population.num_devices - f.drifted;
  int64_t detected_in_time = 0;
  for (const RoundRow& r : rows) {
    if (r.round < f.onset + kDriftDetectionRounds) detected_in_time = r.drift_detected;
    if (!std::isfinite(r.drifted_accuracy)) continue;
    if (r.round < f.onset) {
      f.pre_accuracy = r.drifted_accuracy;
      continue;
    }
    f.final_accuracy = r.drifted_accuracy;
    if (!(f.min_accuracy <= r.drifted_accuracy)) f.min_accuracy = r.drifted_accuracy, f.min_round = r.round;
    if (f.recovery_round == 0 && std::isfinite(f.pre_accuracy) &&
        100 * r.drifted_accuracy >= 100 * f.pre_accuracy - kDriftRecoveryPoints) {
      f.recovery_round = r.round;
    }
  }
  f.detected_in_time = Share(detected_in_time, f.drifted);
  f.detected_by_end = Share(rows.back().drift_detected, f.drifted);
  f.false_alarm_share = Share(rows.back().false_alarm_devices, f.undrifted);
  return f;
}

// Per-round values of a field, NaN where not measured.
template <typename F>
std::vector<double> Column(const std::vector<RoundRow>& rows, F field) {
  std::vector<double> out;
  for (const RoundRow& r : rows) out.push_back(field(r));
  return out;
}

}  // namespace

nlohmann::json DriftSummary(const Scenario& scenario, const std::vector<RoundRow>& rows) {
  if (!scenario.drift.enabled()) return nullptr;
  const Figures f = Compute(scenario, rows);
  return {{"onset_round", f.onset},
          {"drifted_devices", f.drifted},
          {"undrifted_devices", f.undrifted},
          {"detected_within_rounds", kDriftDetectionRounds},
          {"detected_in_time_share", Number(f.detected_in_time)},
          {"detected_by_end_share", Number(f.detected_by_end)},
          {"undrifted_false_alarm_share", Number(f.false_alarm_share)},
          {"pre_drift_accuracy", Number(f.pre_accuracy)},
          {"min_drifted_accuracy", Number(f.min_accuracy)},
          {"min_drifted_accuracy_round", f.min_round},
          {"final_drifted_accuracy", Number(f.final_accuracy)},
          {"recovery_points", kDriftRecoveryPoints},
          {"recovery_round", f.recovery_round > 0 ? nlohmann::json(f.recovery_round) : nlohmann::json(nullptr)},
          {"rounds_to_recover",
           f.recovery_round > 0 ? nlohmann::json(f.recovery_round - f.onset) : nlohmann::json(nullptr)}};
}

std::string DriftHtml(const Scenario& scenario, const std::vector<RoundRow>& rows) {
  if (!scenario.drift.enabled()) return "";
  const Figures f = Compute(scenario, rows);
  std::string html = "<h2>Drift</h2>\n<div class=\"cards\">\n";
  auto card = [&](const std::string& label, const std::string& value) {
    absl::StrAppend(&html, "<div class=\"card\"><b>", HtmlEscape(value), "</b><span>", HtmlEscape(label),
                    "</span></div>\n");
  };
  card(absl::StrCat("onset (", f.drifted, " drifting devices)"), absl::StrCat("round ", f.onset));
  card(absl::StrCat("drifted devices alarmed within ", kDriftDetectionRounds, " rounds"), Percent(f.detected_in_time));
  card("undrifted devices with any alarm", Percent(f.false_alarm_share));
  card("drifted-distribution accuracy before onset", Percent(f.pre_accuracy));
  card(absl::StrCat("lowest after onset (round ", f.min_round, ")"), Percent(f.min_accuracy));
  card(absl::StrFormat("back within %.0f points", kDriftRecoveryPoints),
       f.recovery_round > 0 ? absl::StrCat("round ", f.recovery_round, " (+", f.recovery_round - f.onset, ")")
                            : "not recovered");
  html += "</div>\n<div class=\"charts\">\n";
  const std::vector<double> x = Column(rows, [](const RoundRow& r) { return static_cast<double>(r.round); });
  const std::vector<double> onset = {static_cast<double>(f.onset)};
  html += RenderSvg({.title = "Accuracy on the drifted devices' current data",
                     .y_label = "accuracy (%)",
                     .x = x,
                     .series = {{"drifted distribution", "#d62728",
                                 Column(rows, [](const RoundRow& r) { return 100 * r.drifted_accuracy; })},
                                {"test set", "#1f77b4",
                                 Column(rows, [](const RoundRow& r) { return 100 * r.test_accuracy; })}},
                     .y_max = 100,
                     .markers = onset,
                     .marker_label = "drift onset"});
  html += RenderSvg(
      {.title = "Drift alarms per round",
       .y_label = "devices",
       .x = x,
       .series = {{"drifted devices alarming", "#d62728",
                   Column(rows, [](const RoundRow& r) { return static_cast<double>(r.alarms_drifted); })},
                  {"undrifted devices alarming", "#7f7f7f",
                   Column(rows, [](const RoundRow& r) { return static_cast<double>(r.alarms_undrifted); })},
                  {"drifting at coordinator", "#ff7f0e",
                   Column(rows, [](const RoundRow& r) { return static_cast<double>(r.drifting_devices); })}},
       .markers = onset,
       .marker_label = "drift onset"});
  html += "</div>\n";
  return html;
}

std::string DriftTerminalLines(const Scenario& scenario, const std::vector<RoundRow>& rows) {
  if (!scenario.drift.enabled()) return "";
  const Figures f = Compute(scenario, rows);
  std::string s = absl::StrFormat("  drift                onset round %d, %d drifting devices; alarmed within %d rounds "
                                  "%s, undrifted with an alarm %s\n",
                                  f.onset, f.drifted, kDriftDetectionRounds, Percent(f.detected_in_time),
                                  Percent(f.false_alarm_share));
  absl::StrAppendFormat(&s, "  drifted accuracy     %s before, lowest %s (round %d), final %s, %s\n",
                        Percent(f.pre_accuracy), Percent(f.min_accuracy), f.min_round, Percent(f.final_accuracy),
                        f.recovery_round > 0 ? absl::StrCat("recovered at round ", f.recovery_round) : "not recovered");
  return s;
}

std::string DriftComparisonHtml(const std::vector<std::string>& labels, const std::vector<const RunReport*>& runs,
                                const std::vector<std::string>& colors) {
  std::vector<ChartSeries> series;
  size_t max_rounds = 0;
  int64_t onset = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i]->scenario().drift.enabled()) continue;
    onset = runs[i]->scenario().drift.start_round;
    max_rounds = std::max(max_rounds, runs[i]->rows().size());
  }
  if (onset == 0) return "";
  std::vector<double> x(max_rounds);
  for (size_t i = 0; i < max_rounds; ++i) x[i] = static_cast<double>(i + 1);
  for (size_t i = 0; i < runs.size(); ++i) {
    std::vector<double> values(max_rounds, NAN);
    const std::vector<RoundRow>& rows = runs[i]->rows();
    for (size_t k = 0; k < rows.size() && k < max_rounds; ++k) values[k] = 100 * rows[k].drifted_accuracy;
    series.push_back({labels[i], colors[i % colors.size()], std::move(values)});
  }
  return RenderSvg({.title = "Accuracy on the drifted devices' current data",
                    .y_label = "accuracy (%)",
                    .x = x,
                    .series = std::move(series),
                    .y_max = 100,
                    .markers = {static_cast<double>(onset)},
                    .marker_label = "drift onset"});
}

}  // namespace fedge
