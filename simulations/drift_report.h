// File: simulations/drift_report.h
//
// The drift part of a run's report (simulations/report.h) and of a
// comparison of variants (simulations/comparison.h), computed from the
// drift columns of `RoundRow`:
//   * `DriftSummary`: the figures the targets are stated in —
//     share of drifted devices that raised an alarm within 2 rounds of the
//     onset, share of undrifted devices that ever raised one, the accuracy
//     on the drifted devices' current distribution before the onset, its
//     minimum after it, and the first round it is back within 3 points;
//   * `DriftHtml`: cards and two charts (accuracy on the drifted
//     distribution beside the test accuracy; alarms per round), each with a
//     dashed marker at the onset;
//   * `DriftComparisonHtml`: the drifted-distribution accuracy of every
//     variant overlaid, with the onset marker.
// All return empty results for a scenario without drift.
//
// LibTorch-free. Stateless; thread-safe.
#ifndef FEDGE_SIMULATIONS_DRIFT_REPORT_H_
#define FEDGE_SIMULATIONS_DRIFT_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fedge {

// Accuracy points within which the drifted accuracy counts as recovered.
inline constexpr double kDriftRecoveryPoints = 3.0;
// Rounds after the onset (the onset round included) an alarm must come
// within to count as a timely detection.
inline constexpr int64_t kDriftDetectionRounds = 2;

// summary.json's "drift" object; null without drift.
nlohmann::json DriftSummary(const Scenario& scenario, const std::vector<RoundRow>& rows);

// The report page's drift section; empty without drift.
std::string DriftHtml(const Scenario& scenario, const std::vector<RoundRow>& rows);

// Lines for the terminal summary; empty without drift.
std::string DriftTerminalLines(const Scenario& scenario, const std::vector<RoundRow>& rows);

// One chart overlaying the drifted-distribution accuracy of several runs
// (labels[i] names runs[i]); empty when none of them has drift.
std::string DriftComparisonHtml(const std::vector<std::string>& labels, const std::vector<const RunReport*>& runs,
                                const std::vector<std::string>& colors);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DRIFT_REPORT_H_
