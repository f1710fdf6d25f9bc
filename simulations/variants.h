// File: simulations/variants.h
//
// One scenario file, several runs: `[[variant]]` tables name a variant and
// override any other scenario keys. `fedge-sim run` runs the base scenario
// and then every variant with the same seed (so the same partition, device
// draws and sampling) and writes a combined report (simulations/comparison.h).
//
//   name = "compression"      # the base scenario, as usual
//   base_variant = "fp32"     # label of the base run ["base"]
//   codec = "fp32"
//
//   [[variant]]
//   name = "int8"             # required: a file name, unique, != base_variant
//   codec = "int8"            # top-level override
//   training.learning_rate = 0.1         # dotted keys override inside a table ...
//   [variant.dp]              # ... as does a sub-table of the variant
//   enabled = false
//
// A variant's keys are deep-merged into the base document (tables merge key
// by key; values, arrays and inline tables such as compute_speed = {..}
// replace), and the merged document is parsed and validated exactly like a
// scenario file. Problems are reported with the variant's index and name,
// e.g. `dp.toml: variant[0] "non-private": unknown key 'dp.nosie'`. A variant
// may not change `seed`, `name` or `run.out_dir`: all runs share the seed and
// report folder.
//
// LibTorch-free. Plain data; thread-compatible.
#ifndef FEDGE_SIMULATIONS_VARIANTS_H_
#define FEDGE_SIMULATIONS_VARIANTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "simulations/scenario.h"

namespace fedge {

struct ScenarioVariant {
  // Labels the run: its report goes to <out_dir>/<scenario name>/<label>/
  // when the set has variants.
  std::string label;
  Scenario scenario;
};

struct ScenarioSet {
  // The base scenario first, then the variants in file order.
  std::vector<ScenarioVariant> runs;
  // False for a plain scenario (one run, reported in <out_dir>/<name>/).
  // Stays true when runs are filtered (fedge-sim run --variant).
  bool has_variants = false;
};

// Parses scenario TOML text with optional [[variant]] tables; `source` names
// it in messages. kInvalidArgument listing every problem: those of the base
// scenario (then variants are not examined), or else those of every variant.
absl::StatusOr<ScenarioSet> ParseScenarioSet(std::string_view text, std::string_view source,
                                             const ScenarioChecks& checks = {});
// Reads and parses a scenario file. kNotFound when it does not exist.
absl::StatusOr<ScenarioSet> LoadScenarioSet(const std::string& path, const ScenarioChecks& checks = {});

// {"base": label, "runs": [{"label": ..., "scenario": ScenarioToJson}, ...]}
nlohmann::json ScenarioSetToJson(const ScenarioSet& set);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_VARIANTS_H_
