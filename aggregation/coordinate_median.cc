#include "aggregation/coordinate_median.h"

#include <algorithm>

#include "aggregation/internal/buffered_aggregator.h"
#include "aggregation/internal/checks.h"
#include "aggregation/strategy_registry.h"
#include "core/status.h"

namespace fedge {
namespace {

using aggregation_internal::UpdateRows;

class MedianAggregator final : public aggregation_internal::BufferedAggregator {
 public:
  MedianAggregator(int64_t num_elements, int64_t max_updates)
      : BufferedAggregator("median", num_elements, /*min_updates=*/1, max_updates) {}

 private:
  std::vector<float> Combine(const UpdateRows& rows) const override {
    std::vector<float> out(static_cast<size_t>(num_elements()));
    aggregation_internal::ForEachColumn(rows, num_elements(), [&out](int64_t j, absl::Span<float> col) {
      const size_t mid = col.size() / 2;
      std::nth_element(col.begin(), col.begin() + mid, col.end());
      float median = col[mid];
      // With an even count the lower middle value is the largest of the
      // lower half, which nth_element has already gathered.
      if (col.size() % 2 == 0) median = 0.5f * (median + *std::max_element(col.begin(), col.begin() + mid));
      out[j] = median;
    });
    return out;
  }
};

}  // namespace

absl::Status CoordinateMedianOptions::Validate() const {
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckPositive("server_learning_rate", server_learning_rate));
  return aggregation_internal::CheckAtLeast("max_updates", max_updates, 1);
}

std::unique_ptr<RoundAggregator> CoordinateMedian::BeginRound(int64_t num_elements) {
  return std::make_unique<MedianAggregator>(num_elements, options_.max_updates);
}

absl::Status CoordinateMedian::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  return aggregation_internal::ApplyScaledDelta(delta, options_.server_learning_rate, global);
}

// Registration (aggregation/strategy_registry.h): options from [strategy.median].
namespace {

std::optional<StrategySpec> ReadMedian(ConfigSection table) {
  CoordinateMedianOptions o;
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "max_updates", &o.max_updates);
  return MakeStrategySpec<CoordinateMedian>(
      table, "median", o,
      {{"server_learning_rate", o.server_learning_rate}, {"max_updates", static_cast<double>(o.max_updates)}},
      o.max_updates);
}

const bool kRegistered = RegisterStrategy({.name = "median", .read = &ReadMedian});

}  // namespace

}  // namespace fedge
