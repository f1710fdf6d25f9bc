// File: simulations/report.h
//
// The results of a simulated run, written to <out_dir>/<name>/:
//   rounds.csv    one row per round (columns in kRoundColumns order);
//   summary.json  the scenario, final and best accuracy, totals, timings;
//   report.html   one self-contained page (inline CSS and SVG charts, no
//                 external resource): accuracy, loss, bytes up/down and
//                 participation per round, and the scenario table.
//
// Columns are declared once, in report.cc's column table: adding one (for
// example epsilon or a drift score) is a field in `RoundRow` and one line
// there; the CSV, the JSON and the HTML pick it up.
//
// LibTorch-free. Thread-compatible: a RunReport is filled by one thread.
#ifndef FEDGE_SIMULATIONS_REPORT_H_
#define FEDGE_SIMULATIONS_REPORT_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "simulations/scenario.h"

namespace fedge {

// One completed round. Metrics that were not measured this round (the test
// set is evaluated every `evaluate_every` rounds) are NaN and written empty.
struct RoundRow {
  int64_t round = 0;
  bool succeeded = false;
  double test_accuracy = NAN;
  double test_loss = NAN;
  int64_t participants = 0;  // updates accepted into the aggregate
  int64_t selected = 0;      // devices sampled by the coordinator
  int64_t dropped = 0;       // sampled but no update arrived in time (offline, dropout, deadline, late)
  int64_t rejected = 0;      // updates refused by the coordinator's checks
  int64_t malicious = 0;     // accepted updates that came from attackers ([attack])
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  // fp32 bytes / bytes_up: (accepted + rejected updates) × 4 bytes per
  // parameter over the whole EncodedUpdate messages received; NaN without uploads.
  double compression_ratio = NAN;
  // Sample-level DP ([dp]): median and max over all devices of the ε their
  // ledgers have spent (never-trained devices count 0); NaN without [dp].
  double epsilon_device_median = NAN;
  double epsilon_device_max = NAN;
  // Client-level DP ([client_dp]): the coordinator's ε so far; NaN without.
  double client_epsilon = NAN;
  // Drift ([drift], simulations/drift_sim.h); NaN / 0 without.
  double drift_progress = NAN;      // the schedule's progress this round, in [0, 1]
  int64_t drift_alarms = 0;         // alarms the coordinator received this round
  int64_t alarms_drifted = 0;       // drifting devices that raised an alarm this round
  int64_t alarms_undrifted = 0;     // other devices that raised an alarm this round
  int64_t drifting_devices = 0;     // devices the coordinator marks as drifting at the close
  int64_t drifted_devices = 0;      // devices whose data drift (the schedule's group)
  int64_t drift_detected = 0;       // drifted devices with an alarm since the onset, so far
  int64_t false_alarm_devices = 0;  // undrifted devices with any alarm, so far
  // Global model on held-out data transformed like the drifted devices'
  // current data (evaluated with the test set).
  double drifted_accuracy = NAN;
  // Deployed int8 model ([deploy], simulations/deploy_setup.h). The
  // accuracies and size are NaN except in rounds that deployed a model.
  int64_t deployed_version = 0;          // newest deployed model at the round's close (0: none)
  int64_t devices_serving_deployed = 0;  // devices that reported serving it
  double deploy_teacher_accuracy = NAN;  // the global (teacher) model distilled this round
  double deploy_student_accuracy = NAN;  // the fp32 student
  double deploy_int8_accuracy = NAN;     // the int8 student, run by the on-device runtime
  double deploy_artifact_bytes = NAN;    // the signed int8 artifact
  double deploy_size_ratio = NAN;        // teacher fp32 weight bytes / artifact bytes
  // Staged rollout ([rollout], coordinator/rollout.h) at the round's close;
  // all 0 without one.
  int64_t rollout_version = 0;           // the deployed version being (or last) rolled out
  int64_t rollout_stage = 0;             // its stage, 1-based
  int64_t rollout_state = 0;             // proto::RolloutState (1 running, 3 completed, 4 aborted, ...)
  int64_t rollout_advanced = 0;          // stages advanced (or completed) since the previous round
  int64_t rollout_aborted = 0;           // rollouts aborted since the previous round
  int64_t serving_rollout_version = 0;   // devices that last reported serving rollout_version
  int64_t serving_previous_version = 0;  // ... the version before it
  int64_t serving_other_version = 0;     // ... any other deployed version
  // Secure aggregation ([secagg]); NaN without: what one device of the
  // cohort sent and received on average over the four stages, and the
  // simulated time the stages took (their deadlines, when devices dropped).
  double secagg_bytes_up_per_device = NAN;
  double secagg_bytes_down_per_device = NAN;
  double secagg_stage_seconds = NAN;
  double sim_time_s = 0;   // simulated time since the start of the run, at the round's close
  double wall_time_s = 0;  // real seconds spent in the round
};

// Column names of rounds.csv, in order. Columns whose name ends in
// "wall_time_s" depend on the machine; every other column is a function of
// the scenario and seed only.
const std::vector<std::string>& RoundColumns();

// The stylesheet of the report pages (shared by simulations/comparison.h).
std::string_view ReportStyle();

// Real time spent outside the rounds.
// Heap a simulated population holds for all its devices once set up
// (Simulator::population_bytes): what devices that are never sampled cost.
struct PopulationBytes {
  int64_t simulator = 0;  // profiles, ids, the attack and privacy tables (partition "sample": no shards)
  int64_t registry = 0;   // the coordinator's registry entries
  int64_t total() const { return simulator + registry; }
};

struct RunTimings {
  double setup_s = 0;  // loading data, partitioning, registering devices
  double total_s = 0;  // the whole run
  PopulationBytes population = {};  // all 0: not measured
};

class RunReport {
 public:
  explicit RunReport(Scenario scenario) : scenario_(std::move(scenario)) {}

  void AddRound(const RoundRow& row) { rows_.push_back(row); }
  const std::vector<RoundRow>& rows() const { return rows_; }
  const Scenario& scenario() const { return scenario_; }

  // rounds.csv contents: a header line and one line per round.
  std::string RoundsCsv() const;
  // summary.json contents.
  nlohmann::json Summary(const RunTimings& timings) const;
  // report.html contents.
  std::string Html(const RunTimings& timings) const;
  // A one-screen plain-text summary for the terminal, ending with the
  // report's path.
  std::string TerminalSummary(const RunTimings& timings, const std::string& dir) const;

  // Writes rounds.csv, summary.json and report.html into `dir` (created if
  // needed), each atomically. kUnavailable on an I/O error.
  absl::Status WriteAll(const std::string& dir, const RunTimings& timings) const;
  // Writes rounds.csv only (called after every round so a long run leaves
  // partial results behind).
  absl::Status WriteCsv(const std::string& dir) const;

 private:
  Scenario scenario_;
  std::vector<RoundRow> rows_;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_REPORT_H_
