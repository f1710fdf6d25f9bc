#include "aggregation/fedavgm.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "aggregation/internal/checks.h"
#include "aggregation/strategy_registry.h"
#include "aggregation/weighted_mean.h"
#include "core/status.h"

namespace fedge {

absl::Status FedAvgMOptions::Validate() const {
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckPositive("server_learning_rate", server_learning_rate));
  return aggregation_internal::CheckHalfOpen("server_momentum", server_momentum, 0, 1);
}

std::unique_ptr<RoundAggregator> FedAvgM::BeginRound(int64_t num_elements) {
  return std::make_unique<WeightedMeanAggregator>(num_elements);
}

absl::Status FedAvgM::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  if (delta.size() != global.size()) {
    return absl::InvalidArgumentError(absl::StrCat("delta has ", delta.size(), " elements but the global model has ",
                                                   global.size()));
  }
  if (momentum_.empty()) {
    momentum_.assign(delta.size(), 0.0f);
  } else if (momentum_.size() != delta.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("fedavgm momentum holds ", momentum_.size(), " elements but the model has ", delta.size(),
                     "; import state saved for this model or reset it with ImportState({})"));
  }
  const float beta = static_cast<float>(options_.server_momentum);
  for (size_t i = 0; i < momentum_.size(); ++i) momentum_[i] = beta * momentum_[i] + delta[i];
  return aggregation_internal::ApplyScaledDelta(momentum_, options_.server_learning_rate, global);
}

std::vector<std::vector<float>> FedAvgM::ExportState() const {
  if (momentum_.empty()) return {};
  return {momentum_};
}

absl::Status FedAvgM::ImportState(std::vector<std::vector<float>> state) {
  if (state.empty()) {
    momentum_.clear();
    return absl::OkStatus();
  }
  if (state.size() != 1 || state[0].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("fedavgm state must be one non-empty momentum vector {u}; got ", state.size(), " vectors"));
  }
  for (float u : state[0]) {
    if (!std::isfinite(u)) return absl::InvalidArgumentError("fedavgm state: momentum has a non-finite entry");
  }
  momentum_ = std::move(state[0]);
  return absl::OkStatus();
}

// Registration (aggregation/strategy_registry.h): options from [strategy.fedavgm].
namespace {

std::optional<StrategySpec> ReadFedAvgM(ConfigSection table) {
  FedAvgMOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "server_momentum", &o.server_momentum);
  return MakeStrategySpec<FedAvgM>(
      table, "fedavgm", o,
      {{"server_learning_rate", o.server_learning_rate}, {"server_momentum", o.server_momentum}});
}

const bool kRegistered = RegisterStrategy({.name = "fedavgm", .read = &ReadFedAvgM});

}  // namespace

}  // namespace fedge
