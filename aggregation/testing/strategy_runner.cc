#include "aggregation/testing/strategy_runner.h"

#include "core/status.h"
#include "core/update_view.h"

namespace fedge::testing {

absl::Status StrategyRunner::RunRound(const CannedRound& round) {
  last_train_config_.Clear();
  strategy_.ConfigureTrain(rounds_run_, last_train_config_);
  std::unique_ptr<RoundAggregator> aggregator = strategy_.BeginRound(static_cast<int64_t>(global_.size()));
  for (const CannedUpdate& update : round) {
    FEDGE_RETURN_IF_ERROR(aggregator->Add(DenseUpdateView(update.values), update.weight));
  }
  FEDGE_ASSIGN_OR_RETURN(std::vector<float> delta, aggregator->Finish());
  std::vector<float> next = global_;
  FEDGE_RETURN_IF_ERROR(strategy_.Apply(delta, absl::MakeSpan(next)));
  global_ = std::move(next);
  last_delta_ = std::move(delta);
  ++rounds_run_;
  return absl::OkStatus();
}

absl::Status StrategyRunner::RunRounds(const std::vector<CannedRound>& rounds) {
  for (const CannedRound& round : rounds) FEDGE_RETURN_IF_ERROR(RunRound(round));
  return absl::OkStatus();
}

}  // namespace fedge::testing
