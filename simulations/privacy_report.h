// File: simulations/privacy_report.h
//
// The single-run report's compression and privacy sections (report.h calls
// them): the compression ratio per round, and the ε spent per round —
// devices' median and max (sample-level DP) and the coordinator's
// client-level ε — with the closing figures for the terminal summary. Both
// are empty when the run has nothing to show (no uploads; no DP).
//
// LibTorch-free. Thread-safe (pure functions).
#ifndef FEDGE_SIMULATIONS_PRIVACY_REPORT_H_
#define FEDGE_SIMULATIONS_PRIVACY_REPORT_H_

#include <string>
#include <vector>

#include "simulations/report.h"

namespace fedge {

// An <h2> section with the charts, or "" when there is nothing to show.
std::string CompressionPrivacyHtml(const std::vector<RoundRow>& rows);
// Lines for RunReport::TerminalSummary ("  compression ratio ...",
// "  privacy ..."), or "".
std::string CompressionPrivacyTerminalLines(const std::vector<RoundRow>& rows);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_PRIVACY_REPORT_H_
