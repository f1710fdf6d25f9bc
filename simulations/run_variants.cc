#include "simulations/run_variants.h"

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "core/status.h"

namespace fedge {

absl::StatusOr<ComparisonReport> RunScenarioSet(const ScenarioSet& set, const RunOptions& options) {
  const Scenario& base = set.runs.front().scenario;
  ComparisonReport comparison(base.name);
  const std::string dir = ReportDir(base);
  for (size_t i = 0; i < set.runs.size(); ++i) {
    const ScenarioVariant& run = set.runs[i];
    RunOptions run_options = options;
    if (set.has_variants) {
      run_options.report_dir = absl::StrCat(dir, "/", run.label);
      const std::string& state = options.state_dir.empty() ? run.scenario.run.state_dir : options.state_dir;
      if (!state.empty()) run_options.state_dir = absl::StrCat(state, "/", run.label);
      if (options.out != nullptr) {
        std::fprintf(options.out, "\n== variant %zu of %zu: %s ==\n", i + 1, set.runs.size(), run.label.c_str());
      }
    }
    const absl::Time start = Clock::Real()->Now();
    absl::StatusOr<RunReport> report = RunScenario(run.scenario, run_options);
    if (!report.ok()) {
      return absl::Status(report.status().code(),
                          absl::StrCat("variant '", run.label, "': ", report.status().message()));
    }
    comparison.Add(run.label, *std::move(report),
                   RunTimings{.total_s = absl::ToDoubleSeconds(Clock::Real()->Now() - start)});
  }
  if (set.runs.size() > 1) {
    FEDGE_RETURN_IF_ERROR(comparison.WriteAll(dir));
    if (options.out != nullptr) std::fputs(comparison.TerminalSummary(dir).c_str(), options.out);
  }
  return comparison;
}

}  // namespace fedge
