// File: aggregation/strategy_registry.h
//
// Strategies by name. Every strategy registers itself, in its own .cc file,
// with a name and an options reader; configuration (the `[strategy]` table
// that fedge-sim and fedge-coordinator share) and tests then build any
// strategy without a central list or a union of every strategy's options.
//
// The `[strategy]` table names the strategy; its options live in a sub-table
// named after it, so options of several strategies may sit side by side
// (a scenario's variants switch between them):
//
//   [strategy]
//   name = "trimmed_mean"          # default "fedavg"
//   [strategy.trimmed_mean]
//   trim_fraction = 0.2            # absent keys: the strategy's option struct defaults
//   [strategy.krum]                # read and checked, unused while name != "krum"
//   num_byzantine = 4
//
// Adding a strategy (aggregation/README.md, "Adding a strategy"):
//
//   // my_strategy.cc
//   namespace {
//   std::optional<StrategySpec> ReadMine(ConfigSection table) {
//     MyOptions o;                                   // the defaults
//     ReadDouble(table, "server_learning_rate", &o.server_learning_rate);
//     return MakeStrategySpec<MyStrategy>(table, "mine", o, {{"server_learning_rate", o.server_learning_rate}});
//   }
//   const bool kRegistered = RegisterStrategy({.name = "mine", .read = &ReadMine});
//   }  // namespace
//
// Linking: registration runs during static initialisation of the object
// file, so the object must be linked even though nothing refers to it. The
// built-in strategies live in fedge::aggregation, which is linked as a whole
// archive (fedge_cc_library WHOLE_ARCHIVE, cmake/FedgeHelpers.cmake); a
// strategy in a test or binary's own sources is always linked.
//
// Thread-safety: register only during static initialisation; after that the
// registry is read-only and every function is safe to call concurrently.
#ifndef FEDGE_AGGREGATION_STRATEGY_REGISTRY_H_
#define FEDGE_AGGREGATION_STRATEGY_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregation/strategy.h"
#include "core/config.h"

namespace fedge {

// A strategy chosen and configured: what it is called, its effective options
// (for reports), and how to build it.
struct StrategySpec {
  std::string name;
  // Every option with its effective value, in the strategy's order.
  std::vector<std::pair<std::string, double>> options;
  // Most updates the strategy keeps in memory in one round (the strategies
  // that hold every update); 0 when it streams.
  int64_t max_updates = 0;
  // Builds a new strategy; the options were validated when read, so this
  // cannot fail. Each call returns an independent instance.
  std::function<std::unique_ptr<Strategy>()> create;
};

// Reads a strategy's sub-table (`[strategy.<name>]`, possibly absent) into a
// spec. Absent keys keep the defaults of the strategy's option struct.
// Problems (wrong type, failed validation) are recorded on `table`
// (ConfigSection::Error) and the reader returns nullopt.
using StrategyOptionsReader = std::optional<StrategySpec> (*)(ConfigSection table);

struct StrategyRegistration {
  std::string name;
  StrategyOptionsReader read = nullptr;
};

// Adds `registration` to the process-wide registry. Returns true, so a file
// can register from a namespace-scope initialiser. A second registration of
// the same name is a programming error and aborts with a message.
bool RegisterStrategy(StrategyRegistration registration);

// Every registered name, sorted.
std::vector<std::string> RegisteredStrategyNames();

// Reads a `[strategy]` table: `name` (default "fedavg") picks the strategy
// whose reader reads `[strategy.<name>]`; the sub-tables of other registered
// strategies are read too (so their typos are reported) but not used. Keys
// that used to sit directly in `[strategy]` are refused with the key that
// replaced them. Problems are recorded on `table`; nullopt then.
std::optional<StrategySpec> ReadStrategyTable(ConfigSection table);

// The spec an empty `[strategy]` table gives: fedavg with its defaults.
StrategySpec DefaultStrategySpec();

// ReadStrategyTable over TOML text holding the table's contents, e.g.
// "name = \"krum\"\n[krum]\nnum_byzantine = 3". For code and tests that
// configure a strategy without a file. kInvalidArgument listing every problem.
absl::StatusOr<StrategySpec> ParseStrategySpec(std::string_view toml);
// ParseStrategySpec, then builds the strategy.
absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(std::string_view toml);

// --- For strategy implementations --------------------------------------------

// Reads a number option, checking only its type; ranges are the option
// struct's Validate() (one place for every reader).
void ReadStrategyOption(ConfigSection& table, std::string_view key, double* out);
void ReadStrategyOption(ConfigSection& table, std::string_view key, int64_t* out);

// Validates `options` (recording a failure on `table`) and returns the spec
// building `StrategyT(options)`.
template <typename StrategyT, typename OptionsT>
std::optional<StrategySpec> MakeStrategySpec(ConfigSection& table, std::string name, const OptionsT& options,
                                             std::vector<std::pair<std::string, double>> shown,
                                             int64_t max_updates = 0) {
  if (absl::Status valid = options.Validate(); !valid.ok()) {
    table.Error(std::string(valid.message()));
    return std::nullopt;
  }
  return StrategySpec{.name = std::move(name),
                      .options = std::move(shown),
                      .max_updates = max_updates,
                      .create = [options]() -> std::unique_ptr<Strategy> { return std::make_unique<StrategyT>(options); }};
}

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_STRATEGY_REGISTRY_H_
