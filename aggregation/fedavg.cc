#include "aggregation/fedavg.h"

#include "aggregation/internal/checks.h"
#include "aggregation/strategy_registry.h"
#include "aggregation/weighted_mean.h"

namespace fedge {

absl::Status FedAvgOptions::Validate() const {
  return aggregation_internal::CheckPositive("server_learning_rate", server_learning_rate);
}

std::unique_ptr<RoundAggregator> FedAvg::BeginRound(int64_t num_elements) {
  return std::make_unique<WeightedMeanAggregator>(num_elements);
}

absl::Status FedAvg::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  return aggregation_internal::ApplyScaledDelta(delta, options_.server_learning_rate, global);
}

// Registration (aggregation/strategy_registry.h): options from [strategy.fedavg].
namespace {

std::optional<StrategySpec> ReadFedAvg(ConfigSection table) {
  FedAvgOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  return MakeStrategySpec<FedAvg>(table, "fedavg", o, {{"server_learning_rate", o.server_learning_rate}});
}

const bool kRegistered = RegisterStrategy({.name = "fedavg", .read = &ReadFedAvg});

}  // namespace

}  // namespace fedge
