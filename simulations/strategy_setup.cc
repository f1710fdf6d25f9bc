#include "simulations/strategy_setup.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"

namespace fedge {

void ReadScenarioStrategy(ConfigSection section, int64_t updates_per_round, StrategySpec* spec) {
  std::optional<StrategySpec> read = ReadStrategyTable(section);
  if (!read) return;
  const int64_t needed = read->create()->min_updates();
  if (updates_per_round < needed) {
    section.Error(absl::StrCat("strategy \"", read->name, "\" needs at least ", needed,
                               " updates per round, but a round closes at ", updates_per_round,
                               "; raise selection.devices_per_round or lower the strategy's num_byzantine / "
                               "num_selected"));
  }
  if (read->max_updates > 0 && updates_per_round > read->max_updates) {
    section.Error(absl::StrCat("strategy \"", read->name, "\" holds at most max_updates = ", read->max_updates,
                               " updates, but a round closes at ", updates_per_round, "; raise strategy.",
                               read->name, ".max_updates"));
  }
  *spec = *std::move(read);
}

nlohmann::json StrategyToJson(const StrategySpec& spec) {
  nlohmann::json j = {{"name", spec.name}};
  for (const auto& [key, value] : spec.options) j[key] = value;
  return j;
}

}  // namespace fedge
