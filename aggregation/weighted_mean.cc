#include "aggregation/weighted_mean.h"

#include "absl/strings/str_cat.h"
#include "aggregation/internal/checks.h"
#include "core/status.h"

namespace fedge {

absl::Status WeightedMeanAggregator::Add(const UpdateView& update, double weight) {
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckRoundInput(update.size(), static_cast<int64_t>(sum_.size()), weight));
  update.AccumulateInto(absl::MakeSpan(sum_), static_cast<float>(weight));
  total_weight_ += weight;
  ++num_updates_;
  return absl::OkStatus();
}

std::optional<AggregatorState> WeightedMeanAggregator::SaveState() const {
  return AggregatorState{sum_, {total_weight_, static_cast<double>(num_updates_)}};
}

absl::Status WeightedMeanAggregator::RestoreState(const AggregatorState& state) {
  if (state.sum.size() != sum_.size() || state.values.size() != 2 || !(state.values[0] >= 0) ||
      !(state.values[1] >= 0 && state.values[1] <= 1e15)) {
    return absl::DataLossError(absl::StrCat("a weighted-mean state of ", state.sum.size(), " elements and ",
                                            state.values.size(), " values does not fit an aggregator of ",
                                            sum_.size(), " elements"));
  }
  sum_ = state.sum;
  total_weight_ = state.values[0];
  num_updates_ = static_cast<int64_t>(state.values[1]);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> WeightedMeanAggregator::Finish() {
  if (num_updates_ == 0) return absl::FailedPreconditionError("no updates to average; wait for at least one");
  const float inv = static_cast<float>(1.0 / total_weight_);
  std::vector<float> mean = std::move(sum_);
  for (float& v : mean) v *= inv;
  sum_.clear();
  return mean;
}

}  // namespace fedge
