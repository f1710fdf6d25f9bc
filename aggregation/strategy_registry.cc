#include "aggregation/strategy_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr char kDefaultStrategy[] = "fedavg";

// Function-local so registrations from any translation unit's static
// initialisers find it constructed.
std::map<std::string, StrategyRegistration, std::less<>>& Registry() {
  static auto* registry = new std::map<std::string, StrategyRegistration, std::less<>>();
  return *registry;
}

// The options that sat directly in [strategy] before each strategy had its
// own sub-table; refused with the key that replaced them.
constexpr const char* kFormerFlatKeys[] = {"server_learning_rate", "proximal_mu",     "beta1",
                                          "beta2",                "tau",             "server_momentum",
                                          "trim_fraction",        "num_byzantine",   "num_selected",
                                          "max_updates"};

void RefuseFormerFlatKeys(ConfigSection& table, const std::string& name) {
  for (const char* key : kFormerFlatKeys) {
    if (!table.Has(key)) continue;
    table.Ignore(key);
    table.Error(absl::StrCat("'strategy.", key, "' moved to 'strategy.", name, ".", key,
                             "': each strategy's options sit in the sub-table named after it"));
  }
}

}  // namespace

bool RegisterStrategy(StrategyRegistration registration) {
  if (registration.name.empty() || registration.read == nullptr) {
    std::fprintf(stderr, "RegisterStrategy: a strategy needs a name and an options reader\n");
    std::abort();
  }
  const std::string name = registration.name;
  if (!Registry().emplace(name, std::move(registration)).second) {
    std::fprintf(stderr, "RegisterStrategy: strategy \"%s\" is registered twice\n", name.c_str());
    std::abort();
  }
  return true;
}

std::vector<std::string> RegisteredStrategyNames() {
  std::vector<std::string> names;
  for (const auto& [name, registration] : Registry()) names.push_back(name);
  return names;
}

std::optional<StrategySpec> ReadStrategyTable(ConfigSection table) {
  std::string name = kDefaultStrategy;
  table.Read("name", &name, RegisteredStrategyNames());
  RefuseFormerFlatKeys(table, name);
  std::optional<StrategySpec> chosen;
  for (const auto& [registered, registration] : Registry()) {
    if (registered != name && !table.Has(registered)) continue;
    std::optional<StrategySpec> spec = registration.read(table.Section(registered));
    if (registered == name) chosen = std::move(spec);
  }
  return chosen;
}

absl::StatusOr<StrategySpec> ParseStrategySpec(std::string_view toml) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Parse(toml, "strategy"));
  std::optional<StrategySpec> spec = ReadStrategyTable(file.root());
  FEDGE_RETURN_IF_ERROR(file.Finish());
  if (!spec) return absl::InvalidArgumentError("strategy: the options could not be read");
  return *std::move(spec);
}

StrategySpec DefaultStrategySpec() {
  absl::StatusOr<StrategySpec> spec = ParseStrategySpec("");
  if (!spec.ok()) {  // only if fedavg's registration was not linked
    std::fprintf(stderr, "DefaultStrategySpec: %s\n", std::string(spec.status().message()).c_str());
    std::abort();
  }
  return *std::move(spec);
}

absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(std::string_view toml) {
  FEDGE_ASSIGN_OR_RETURN(StrategySpec spec, ParseStrategySpec(toml));
  return spec.create();
}

void ReadStrategyOption(ConfigSection& table, std::string_view key, double* out) {
  table.Read(key, out, std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max());
}

void ReadStrategyOption(ConfigSection& table, std::string_view key, int64_t* out) {
  table.Read(key, out, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}

}  // namespace fedge
