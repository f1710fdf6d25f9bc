#include "aggregation/fedadagrad.h"

#include "aggregation/strategy_registry.h"

namespace fedge {

void FedAdagrad::UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const {
  for (size_t i = 0; i < v.size(); ++i) v[i] += delta[i] * delta[i];
}

// Registration (aggregation/strategy_registry.h): options from [strategy.fedadagrad].
namespace {

std::optional<StrategySpec> ReadFedAdagrad(ConfigSection table) {
  FedOptOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "beta1", &o.beta1);
  ReadStrategyOption(table, "tau", &o.tau);
  return MakeStrategySpec<FedAdagrad>(table, "fedadagrad", o, {{"server_learning_rate", o.server_learning_rate}, {"beta1", o.beta1}, {"tau", o.tau}});
}

const bool kRegistered = RegisterStrategy({.name = "fedadagrad", .read = &ReadFedAdagrad});

}  // namespace

}  // namespace fedge
