// File: simulations/comparison.h
//
// The combined report of a scenario with variants (simulations/variants.h),
// written to <out_dir>/<name>/ next to one folder per variant:
//   summary.json  per variant: final/best accuracy, accuracy change against
//                 the base run, bytes up/down, compression ratio (fp32 bytes
//                 over the bytes received), upload reduction against the base,
//                 ε (device median/max, client) where DP is on, wall time,
//                 and the keys it overrides;
//   report.html   overlaid per-round curves (accuracy, bytes up, ε) and the
//                 comparison table, linking each variant's own report.
// The first run added is the base.
//
// LibTorch-free. Thread-compatible.
#ifndef FEDGE_SIMULATIONS_COMPARISON_H_
#define FEDGE_SIMULATIONS_COMPARISON_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "simulations/report.h"

namespace fedge {

class ComparisonReport {
 public:
  // `name` titles the page (the scenario's name).
  explicit ComparisonReport(std::string name) : name_(std::move(name)) {}

  // Adds a finished run; its own report lives in <dir>/<label>/.
  void Add(std::string label, RunReport report, RunTimings timings);
  size_t size() const { return runs_.size(); }

  // summary.json and report.html contents.
  nlohmann::json Summary() const;
  std::string Html() const;
  // A plain-text table of the variants for the terminal.
  std::string TerminalSummary(const std::string& dir) const;
  // Writes summary.json and report.html into `dir`. kUnavailable on I/O errors.
  absl::Status WriteAll(const std::string& dir) const;

 private:
  struct Run {
    std::string label;
    RunReport report;
    RunTimings timings;
  };
  // One variant's figures, as in Summary()["variants"][i].
  nlohmann::json Figures(const Run& run) const;

  std::string name_;
  std::vector<Run> runs_;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_COMPARISON_H_
