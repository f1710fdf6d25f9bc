// File: aggregation/strategy_factory.h
//
// Builds any strategy of aggregation/ by name from one plain options struct,
// so configuration files and command lines need not know the classes.
//
// Usage:
//   StrategyOptions options;
//   options.name = "fedadam";
//   options.server_learning_rate = 0.03;
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Strategy> strategy, CreateStrategy(options));
//
// Each field below is read (and validated) only by the strategies it names;
// the others ignore it.
#ifndef FEDGE_AGGREGATION_STRATEGY_FACTORY_H_
#define FEDGE_AGGREGATION_STRATEGY_FACTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "aggregation/strategy.h"

namespace fedge {

struct StrategyOptions {
  // Which strategy; one of KnownStrategyNames().
  std::string name = "fedavg";
  // eta, every strategy. Unset: 0.01 for fedadam/fedyogi/fedadagrad, 1.0 for
  // the others. Must be > 0.
  std::optional<double> server_learning_rate = std::nullopt;
  // fedprox: mu of the devices' proximal term, >= 0.
  double proximal_mu = 0.01;
  // fedadam, fedyogi, fedadagrad: first-moment decay, in [0, 1).
  double beta1 = 0.9;
  // fedadam, fedyogi: second-moment decay, in [0, 1).
  double beta2 = 0.99;
  // fedadam, fedyogi, fedadagrad: adaptivity tau, > 0.
  double tau = 1e-3;
  // fedavgm: server momentum beta, in [0, 1).
  double server_momentum = 0.9;
  // trimmed_mean: fraction trimmed from each side, in [0, 0.5).
  double trim_fraction = 0.1;
  // krum, multikrum: f, the number of Byzantine updates tolerated, >= 0.
  int64_t num_byzantine = 0;
  // multikrum: m, the number of best-scored updates averaged; 0 means n - f.
  // krum always uses 1.
  int64_t num_selected = 0;
  // median, trimmed_mean, krum, multikrum: most updates held in one round
  // (they keep every update); >= 1, and >= max(2f + 3, m) for Krum.
  int64_t max_updates = 512;
};

// The names CreateStrategy accepts, in a stable order.
const std::vector<std::string>& KnownStrategyNames();

// kInvalidArgument for an unknown name (the message lists the known ones) or
// an out-of-range option (the message names the field and its range).
absl::StatusOr<std::unique_ptr<Strategy>> CreateStrategy(const StrategyOptions& options);

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_STRATEGY_FACTORY_H_
