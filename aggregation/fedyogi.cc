#include "aggregation/fedyogi.h"

#include "aggregation/strategy_registry.h"

namespace fedge {

void FedYogi::UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const {
  // Unlike Adam, v moves by an additive step whose direction is set by the
  // sign of (v - delta^2), so a single large pseudo-gradient cannot make v
  // forget its history too quickly. v stays positive: it shrinks by at most
  // (1 - beta2) * delta^2 < v when v > delta^2.
  const float beta2 = static_cast<float>(options().beta2);
  for (size_t i = 0; i < v.size(); ++i) {
    const float g2 = delta[i] * delta[i];
    const float diff = v[i] - g2;
    const float sign = diff > 0 ? 1.0f : (diff < 0 ? -1.0f : 0.0f);
    v[i] -= (1.0f - beta2) * g2 * sign;
  }
}

// Registration (aggregation/strategy_registry.h): options from [strategy.fedyogi].
namespace {

std::optional<StrategySpec> ReadFedYogi(ConfigSection table) {
  FedOptOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "beta1", &o.beta1);
  ReadStrategyOption(table, "beta2", &o.beta2);
  ReadStrategyOption(table, "tau", &o.tau);
  return MakeStrategySpec<FedYogi>(table, "fedyogi", o, {{"server_learning_rate", o.server_learning_rate}, {"beta1", o.beta1}, {"beta2", o.beta2}, {"tau", o.tau}});
}

const bool kRegistered = RegisterStrategy({.name = "fedyogi", .read = &ReadFedYogi});

}  // namespace

}  // namespace fedge
