#include "aggregation/weighted_mean.h"

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

absl::StatusOr<std::vector<float>> WeightedMeanAggregator::Finish() {
  if (num_updates_ == 0) return absl::FailedPreconditionError("no updates to average; wait for at least one");
  const float inv = static_cast<float>(1.0 / total_weight_);
  std::vector<float> mean = std::move(sum_);
  for (float& v : mean) v *= inv;
  sum_.clear();
  return mean;
}

}  // namespace fedge
