#include "aggregation/fedadam.h"

#include "aggregation/strategy_registry.h"

namespace fedge {

void FedAdam::UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const {
  const float beta2 = static_cast<float>(options().beta2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = beta2 * v[i] + (1.0f - beta2) * delta[i] * delta[i];
}

// Registration (aggregation/strategy_registry.h): options from [strategy.fedadam].
namespace {

std::optional<StrategySpec> ReadFedAdam(ConfigSection table) {
  FedOptOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "beta1", &o.beta1);
  ReadStrategyOption(table, "beta2", &o.beta2);
  ReadStrategyOption(table, "tau", &o.tau);
  return MakeStrategySpec<FedAdam>(table, "fedadam", o, {{"server_learning_rate", o.server_learning_rate}, {"beta1", o.beta1}, {"beta2", o.beta2}, {"tau", o.tau}});
}

const bool kRegistered = RegisterStrategy({.name = "fedadam", .read = &ReadFedAdam});

}  // namespace

}  // namespace fedge
