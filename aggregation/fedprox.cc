#include "aggregation/fedprox.h"

#include "aggregation/internal/checks.h"
#include "aggregation/strategy_registry.h"
#include "aggregation/weighted_mean.h"
#include "core/status.h"

namespace fedge {

absl::Status FedProxOptions::Validate() const {
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckNonNegative("proximal_mu", proximal_mu));
  return aggregation_internal::CheckPositive("server_learning_rate", server_learning_rate);
}

void FedProx::ConfigureTrain(uint64_t round, proto::TrainConfig& config) const {
  (void)round;
  config.set_proximal_mu(options_.proximal_mu);
}

std::unique_ptr<RoundAggregator> FedProx::BeginRound(int64_t num_elements) {
  return std::make_unique<WeightedMeanAggregator>(num_elements);
}

absl::Status FedProx::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  return aggregation_internal::ApplyScaledDelta(delta, options_.server_learning_rate, global);
}

// Registration (aggregation/strategy_registry.h): options from [strategy.fedprox].
namespace {

std::optional<StrategySpec> ReadFedProx(ConfigSection table) {
  FedProxOptions o;
  ReadStrategyOption(table, "proximal_mu", &o.proximal_mu);
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  return MakeStrategySpec<FedProx>(
      table, "fedprox", o, {{"proximal_mu", o.proximal_mu}, {"server_learning_rate", o.server_learning_rate}});
}

const bool kRegistered = RegisterStrategy({.name = "fedprox", .read = &ReadFedProx});

}  // namespace

}  // namespace fedge
