// File: simulations/deploy_report.h
//
// The deployed-model part of a run's report (simulations/report.h), from the
// deploy columns of `RoundRow`: one entry per deployment (the rounds whose
// deploy_int8_accuracy is set) with the teacher's, the fp32 student's and
// the int8 student's test accuracy, the artifact's size and how much smaller
// it is than the teacher's fp32 weights. All return empty results for a run
// that deployed nothing.
//
// LibTorch-free. Stateless; thread-safe.
#ifndef FEDGE_SIMULATIONS_DEPLOY_REPORT_H_
#define FEDGE_SIMULATIONS_DEPLOY_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "simulations/report.h"

namespace fedge {

// summary.json's "deployments": an array of {round, version, teacher_accuracy,
// student_accuracy, int8_accuracy, artifact_bytes, size_ratio}.
nlohmann::json DeploymentsSummary(const std::vector<RoundRow>& rows);

// The report page's section: a chart of the three accuracies per deployment
// over the test accuracy, and a table; empty without deployments.
std::string DeploymentsHtml(const std::vector<RoundRow>& rows);

// Terminal summary lines for the latest deployment; empty without any.
std::string DeploymentsTerminalLines(const std::vector<RoundRow>& rows);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DEPLOY_REPORT_H_
