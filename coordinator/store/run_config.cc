#include "coordinator/store/run_config.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace fedge {

void ReadStateTable(ConfigSection section, StateOptions* options) {
  section.Read("dir", &options->dir);
  section.Read("resume_grace_s", &options->resume_grace_s, 0, 86400);
  section.Read("keep_models", &options->keep_models, 1, 1'000'000);
  section.Read("durability", &options->durability, {"full", "process"});
}

absl::Status CheckRunConfig(const RunConfig& stored, const RunConfig& current, const std::string& db_path) {
  std::set<std::string> keys;
  for (const auto& [k, v] : stored) keys.insert(k);
  for (const auto& [k, v] : current) keys.insert(k);
  std::vector<std::string> differences;
  for (const std::string& key : keys) {
    auto s = stored.find(key);
    auto c = current.find(key);
    const std::string was = s == stored.end() ? "(unset)" : s->second;
    const std::string now = c == current.end() ? "(unset)" : c->second;
    if (was != now) differences.push_back(absl::StrCat(key, " (stored run: ", was, ", now: ", now, ")"));
  }
  if (differences.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the configuration changes the meaning of the run stored in ", db_path, ": ",
      absl::StrJoin(differences, "; "),
      ". Restore those settings to resume it, or add --new-run to start a new run there (the stored one is "
      "discarded)"));
}

absl::Status PrepareRun(StateStore& store, const RunConfig& config, bool new_run, const std::string& where) {
  absl::StatusOr<std::optional<RunConfig>> stored = store.ReadRunConfig();
  if (!stored.ok()) return stored.status();
  if (!stored->has_value() || new_run) return store.StartRun(config);
  return CheckRunConfig(**stored, config, where);
}

}  // namespace fedge
