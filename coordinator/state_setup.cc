#include "coordinator/state_setup.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {
namespace {

// Exact and stable: %.17g round-trips every double.
std::string Exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

RunConfig CoordinatorRunConfig(const CoordinatorConfig& c) {
  // Keyed as in the settings file (docs/configuration.md), so a refusal
  // names what to change back.
  const FederationSettings& s = c.settings;
  const FederationSettings::Training& t = s.training;
  const double dp_noise = s.dp.enabled ? s.dp.noise_multiplier : 0, dp_clip = s.dp.enabled ? s.dp.clip_norm : 0;
  RunConfig run = {
      {"name", s.name},
      {"seed", absl::StrCat(s.seed)},
      {"model.name", s.model.name},
      {"model.input_features", absl::StrCat(s.model.shape.input_features)},
      {"model.num_classes", absl::StrCat(s.model.shape.num_classes)},
      {"strategy.name", s.strategy.name},
      {"training.codec", t.codec},
      {"dp.noise_multiplier", Exact(dp_noise)},
      {"dp.clip_norm", Exact(dp_clip)},
      {"training.update_clip_norm", Exact(t.update_clip_norm)},
      {"training.max_examples", absl::StrCat(t.max_examples)},
      {"federation.max_update_norm", Exact(s.federation.max_update_norm)},
      {"federation.max_examples", absl::StrCat(s.federation.max_examples)},
  };
  for (const auto& [key, value] : s.strategy.options) {
    run[absl::StrCat("strategy.", s.strategy.name, ".", key)] = Exact(value);
  }
  return run;
}

absl::StatusOr<std::unique_ptr<SqliteStateStore>> OpenCoordinatorState(const CoordinatorConfig& c) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStateStore> store,
                         SqliteStateStore::Open({.dir = c.state.dir,
                                                                 .keep_models = c.state.keep_models,
                                                                 .sync_every_commit = c.state.durability != "process"}));
  FEDGE_RETURN_IF_ERROR(PrepareRun(*store, CoordinatorRunConfig(c), c.state.new_run, store->db_path()));
  FEDGE_LOG(INFO) << "state in " << c.state.dir << " (" << store->db_path() << ")"
                  << (c.state.new_run ? ": new run" : "");
  return store;
}

}  // namespace fedge
