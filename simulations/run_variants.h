// File: simulations/run_variants.h
//
// Runs a scenario set (simulations/variants.h): the base run, then every
// variant, each through RunScenario with the same seed. Without variants the
// single run reports to <out_dir>/<name>/ as before; with variants each run
// reports to <out_dir>/<name>/<label>/ and, when more than one ran, the
// combined comparison (simulations/comparison.h) goes to <out_dir>/<name>/.
//
// Thread-safety: call from one thread; runs are sequential.
#ifndef FEDGE_SIMULATIONS_RUN_VARIANTS_H_
#define FEDGE_SIMULATIONS_RUN_VARIANTS_H_

#include "absl/status/statusor.h"
#include "simulations/comparison.h"
#include "simulations/simulator.h"
#include "simulations/variants.h"

namespace fedge {

// Runs every run of `set` in order and writes the reports. Returns the
// comparison (one entry for a set without variants). Stops at the first
// run that fails, with its status prefixed by the variant's label.
// REQUIRES: set.runs is not empty.
absl::StatusOr<ComparisonReport> RunScenarioSet(const ScenarioSet& set, const RunOptions& options);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_RUN_VARIANTS_H_
