#include "aggregation/fedavg.h"

#include "aggregation/weighted_mean.h"

namespace fedge {

std::unique_ptr<RoundAggregator> FedAvg::BeginRound(int64_t num_elements) {
  return std::make_unique<WeightedMeanAggregator>(num_elements);
}

absl::Status FedAvg::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  if (delta.size() != global.size()) return absl::InvalidArgumentError("delta and global model sizes differ");
  const float lr = static_cast<float>(options_.server_learning_rate);
  for (size_t i = 0; i < global.size(); ++i) global[i] += lr * delta[i];
  return absl::OkStatus();
}

}  // namespace fedge
