#include "simulations/strategy_setup.h"

#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

namespace fedge {
namespace {

constexpr double kHuge = std::numeric_limits<double>::max();
constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();

// Strategies that keep every update of a round in memory (bounded by
// max_updates); see aggregation/README.md.
bool HoldsEveryUpdate(const std::string& name) {
  return name == "median" || name == "trimmed_mean" || name == "krum" || name == "multikrum";
}

}  // namespace

void ReadStrategyTable(ConfigSection section, int64_t updates_per_round, StrategyOptions* options) {
  StrategyOptions& o = *options;
  section.Read("name", &o.name, KnownStrategyNames());
  if (section.Has("server_learning_rate")) {
    double lr = o.server_learning_rate.value_or(1.0);
    section.Read("server_learning_rate", &lr, -kHuge, kHuge);
    o.server_learning_rate = lr;
  }
  // Ranges are the factory's business; these reads only check types.
  section.Read("proximal_mu", &o.proximal_mu, -kHuge, kHuge);
  section.Read("beta1", &o.beta1, -kHuge, kHuge);
  section.Read("beta2", &o.beta2, -kHuge, kHuge);
  section.Read("tau", &o.tau, -kHuge, kHuge);
  section.Read("server_momentum", &o.server_momentum, -kHuge, kHuge);
  section.Read("trim_fraction", &o.trim_fraction, -kHuge, kHuge);
  section.Read("num_byzantine", &o.num_byzantine, -kMaxInt, kMaxInt);
  section.Read("num_selected", &o.num_selected, -kMaxInt, kMaxInt);
  section.Read("max_updates", &o.max_updates, -kMaxInt, kMaxInt);

  absl::StatusOr<std::unique_ptr<Strategy>> strategy = CreateStrategy(o);
  if (!strategy.ok()) {
    section.Error(std::string(strategy.status().message()));
    return;
  }
  const int64_t needed = (*strategy)->min_updates();
  if (updates_per_round < needed) {
    section.Error(absl::StrCat("strategy \"", o.name, "\" needs at least ", needed,
                               " updates per round, but a round closes at ", updates_per_round,
                               "; raise selection.devices_per_round or lower num_byzantine / num_selected"));
  }
  if (HoldsEveryUpdate(o.name) && updates_per_round > o.max_updates) {
    section.Error(absl::StrCat("strategy \"", o.name, "\" holds at most max_updates = ", o.max_updates,
                               " updates, but a round closes at ", updates_per_round, "; raise max_updates"));
  }
}

nlohmann::json StrategyToJson(const StrategyOptions& o) {
  return {{"name", o.name},
          {"server_learning_rate",
           o.server_learning_rate ? nlohmann::json(*o.server_learning_rate) : nlohmann::json(nullptr)},
          {"proximal_mu", o.proximal_mu},
          {"beta1", o.beta1},
          {"beta2", o.beta2},
          {"tau", o.tau},
          {"server_momentum", o.server_momentum},
          {"trim_fraction", o.trim_fraction},
          {"num_byzantine", o.num_byzantine},
          {"num_selected", o.num_selected},
          {"max_updates", o.max_updates}};
}

}  // namespace fedge
