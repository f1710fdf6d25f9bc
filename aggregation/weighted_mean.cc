#include "aggregation/weighted_mean.h"

#include "absl/strings/str_cat.h"

namespace fedge {

absl::Status WeightedMeanAggregator::Add(const UpdateView& update, double weight) {
  if (update.size() != static_cast<int64_t>(sum_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("update has ", update.size(), " elements, the round expects ", sum_.size()));
  }
  if (!(weight > 0)) return absl::InvalidArgumentError("aggregation weight must be positive");
  update.AccumulateInto(absl::MakeSpan(sum_), static_cast<float>(weight));
  total_weight_ += weight;
  ++num_updates_;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> WeightedMeanAggregator::Finish() {
  if (num_updates_ == 0) return absl::FailedPreconditionError("no updates to average");
  const float inv = static_cast<float>(1.0 / total_weight_);
  std::vector<float> mean = std::move(sum_);
  for (float& v : mean) v *= inv;
  sum_.clear();
  return mean;
}

}  // namespace fedge
