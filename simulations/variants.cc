#include "simulations/variants.h"

#include <toml++/toml.h>

#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

constexpr char kDefaultBaseLabel[] = "base";

bool IsFileName(const std::string& s) {
  return !s.empty() && s.find_first_of("/\\") == std::string::npos && s != "." && s != "..";
}

// Overlays `overrides` on `target`: sub-tables merge key by key, anything
// else replaces.
void DeepMerge(const toml::table& overrides, toml::table& target) {
  for (const auto& [key, node] : overrides) {
    toml::table* existing = target[key].as_table();
    if (node.is_table() && existing != nullptr) {
      DeepMerge(*node.as_table(), *existing);
    } else {
      target.insert_or_assign(key, node);
    }
  }
}

// Serialises a document back to TOML so it goes through the one scenario
// parser (toml++ writes doubles with round-trip precision).
std::string ToText(const toml::table& doc) {
  std::ostringstream out;
  out << doc;
  return out.str();
}

// Keys a variant may not override, as paths into its table.
std::vector<std::string> ForbiddenOverrides(const toml::table& v) {
  std::vector<std::string> found;
  for (const char* key : {"seed", "base_variant", "variant"}) {
    if (v.contains(key)) found.push_back(key);
  }
  if (const toml::table* run = v["run"].as_table(); run != nullptr && run->contains("out_dir")) {
    found.push_back("run.out_dir");
  }
  if (const toml::table* run = v["run"].as_table(); run != nullptr && run->contains("state_dir")) {
    found.push_back("run.state_dir");
  }
  return found;
}

}  // namespace

absl::StatusOr<ScenarioSet> ParseScenarioSet(std::string_view text, std::string_view source,
                                             const ScenarioChecks& checks) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error&) {
    return ParseScenario(text, source, checks).status();  // reports the syntax error with its position
  }
  std::vector<std::string> problems;
  std::string base_label = kDefaultBaseLabel;
  if (toml::node* label = doc.get("base_variant"); label != nullptr) {
    if (auto s = label->value<std::string>(); s && IsFileName(*s)) {
      base_label = *s;
    } else {
      problems.push_back(absl::StrCat(AsAbsl(source), ": 'base_variant' must be a file name (a string without '/')"));
    }
    doc.erase("base_variant");
  }
  std::vector<toml::table> overrides;
  if (toml::node* variants = doc.get("variant"); variants != nullptr) {
    const toml::array* array = variants->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      problems.push_back(absl::StrCat(AsAbsl(source), ": 'variant' must be an array of tables [[variant]]"));
    } else {
      for (const toml::node& n : *array) overrides.push_back(*n.as_table());
    }
    doc.erase("variant");
  }

  ScenarioSet set;
  absl::StatusOr<Scenario> base = ParseScenario(ToText(doc), source, checks);
  if (!base.ok()) problems.push_back(std::string(base.status().message()));
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  set.runs.push_back({base_label, *std::move(base)});

  absl::flat_hash_set<std::string> labels = {base_label};
  for (size_t i = 0; i < overrides.size(); ++i) {
    toml::table& v = overrides[i];
    std::string where = absl::StrCat(AsAbsl(source), ": variant[", i, "]");
    std::optional<std::string> label = v["name"].value<std::string>();
    if (!label || !IsFileName(*label)) {
      problems.push_back(absl::StrCat(where, ": 'name' is required, a file name (no '/') labelling the variant"));
      continue;
    }
    absl::StrAppend(&where, " \"", *label, "\"");
    if (!labels.insert(*label).second) {
      problems.push_back(absl::StrCat(where, ": the name is already used by ",
                                      *label == base_label ? "the base run (see base_variant)" : "another variant"));
    }
    for (const std::string& key : ForbiddenOverrides(v)) {
      problems.push_back(absl::StrCat(where, ": '", key, "' cannot be overridden: all runs share it"));
    }
    v.erase("name");
    toml::table merged = doc;
    DeepMerge(v, merged);
    absl::StatusOr<Scenario> scenario = ParseScenario(ToText(merged), where, checks);
    if (!scenario.ok()) {
      problems.push_back(std::string(scenario.status().message()));
      continue;
    }
    set.runs.push_back({*label, *std::move(scenario)});
  }
  set.has_variants = !overrides.empty();
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  return set;
}

absl::StatusOr<ScenarioSet> LoadScenarioSet(const std::string& path, const ScenarioChecks& checks) {
  FEDGE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseScenarioSet(text, path, checks);
}

nlohmann::json ScenarioSetToJson(const ScenarioSet& set) {
  nlohmann::json runs = nlohmann::json::array();
  for (const ScenarioVariant& r : set.runs) runs.push_back({{"label", r.label}, {"scenario", ScenarioToJson(r.scenario)}});
  return {{"base", set.runs.empty() ? "" : set.runs[0].label}, {"runs", runs}};
}

}  // namespace fedge
