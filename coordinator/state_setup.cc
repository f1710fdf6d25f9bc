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
  const FederationOptions& f = c.federation;
  const proto::TrainConfig& t = f.train;
  RunConfig run = {
      {"model.name", f.architecture},
      {"model.seed", absl::StrCat(c.model_seed)},
      {"model.model_id", f.model_id},
      {"strategy.name", c.strategy.name},
      {"train.codec", t.codec().empty() ? "fp32" : t.codec()},
      {"train.dp_noise_multiplier", Exact(t.dp_noise_multiplier())},
      {"train.dp_clip_norm", Exact(t.dp_clip_norm())},
      {"train.update_clip_norm", Exact(t.update_clip_norm())},
      {"train.max_examples", absl::StrCat(t.max_examples())},
      {"federation.max_update_norm", Exact(f.limits.max_l2_norm)},
      {"federation.max_examples", absl::StrCat(f.limits.max_examples)},
  };
  for (const auto& [key, value] : c.strategy.options) {
    run[absl::StrCat("strategy.", c.strategy.name, ".", key)] = Exact(value);
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
