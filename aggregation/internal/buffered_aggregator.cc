#include "aggregation/internal/buffered_aggregator.h"

#include "absl/strings/str_cat.h"
#include "aggregation/internal/checks.h"
#include "core/status.h"

namespace fedge::aggregation_internal {

BufferedAggregator::BufferedAggregator(std::string_view strategy, int64_t num_elements, int64_t min_updates,
                                       int64_t max_updates)
    : strategy_(strategy), num_elements_(num_elements), min_updates_(min_updates), max_updates_(max_updates) {}

absl::Status BufferedAggregator::Add(const UpdateView& update, double weight) {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat(strategy_, " round already finished"));
  FEDGE_RETURN_IF_ERROR(CheckRoundInput(update.size(), num_elements_, weight));
  if (num_updates() >= max_updates_) {
    return absl::ResourceExhaustedError(
        absl::StrCat(strategy_, " keeps every update of a round and already holds max_updates = ", max_updates_,
                     "; close the round or raise max_updates"));
  }
  std::vector<float> row(static_cast<size_t>(num_elements_));
  update.DecodeInto(absl::MakeSpan(row));
  rows_.push_back(std::move(row));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> BufferedAggregator::Finish() {
  if (finished_) return absl::FailedPreconditionError(absl::StrCat(strategy_, " round already finished"));
  if (num_updates() < min_updates_) {
    return absl::FailedPreconditionError(absl::StrCat(strategy_, " needs at least ", min_updates_,
                                                      " updates, the round has ", num_updates()));
  }
  finished_ = true;
  std::vector<float> combined = Combine(rows_);
  UpdateRows().swap(rows_);
  return combined;
}

}  // namespace fedge::aggregation_internal
