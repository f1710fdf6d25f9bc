#include "aggregation/trimmed_mean.h"

#include <algorithm>
#include <cmath>

#include "aggregation/internal/buffered_aggregator.h"
#include "aggregation/internal/checks.h"
#include "aggregation/strategy_registry.h"
#include "core/status.h"

namespace fedge {
namespace {

using aggregation_internal::UpdateRows;

class TrimmedMeanAggregator final : public aggregation_internal::BufferedAggregator {
 public:
  TrimmedMeanAggregator(int64_t num_elements, int64_t max_updates, double trim_fraction)
      : BufferedAggregator("trimmed_mean", num_elements, /*min_updates=*/1, max_updates),
        trim_fraction_(trim_fraction) {}

 private:
  std::vector<float> Combine(const UpdateRows& rows) const override {
    const size_t n = rows.size();
    // trim_fraction < 0.5 guarantees n - 2k >= 1 for every n >= 1.
    const size_t k = static_cast<size_t>(std::floor(trim_fraction_ * static_cast<double>(n)));
    const double inv_kept = 1.0 / static_cast<double>(n - 2 * k);
    std::vector<float> out(static_cast<size_t>(num_elements()));
    aggregation_internal::ForEachColumn(rows, num_elements(), [&](int64_t j, absl::Span<float> col) {
      // Two selections split the column into [k smallest | kept | k largest]
      // without sorting it.
      std::nth_element(col.begin(), col.begin() + k, col.end());
      std::nth_element(col.begin() + k, col.begin() + (n - k), col.end());
      double sum = 0;
      for (size_t i = k; i < n - k; ++i) sum += col[i];
      out[j] = static_cast<float>(sum * inv_kept);
    });
    return out;
  }

  double trim_fraction_;
};

}  // namespace

absl::Status TrimmedMeanOptions::Validate() const {
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckHalfOpen("trim_fraction", trim_fraction, 0, 0.5));
  FEDGE_RETURN_IF_ERROR(aggregation_internal::CheckPositive("server_learning_rate", server_learning_rate));
  return aggregation_internal::CheckAtLeast("max_updates", max_updates, 1);
}

std::unique_ptr<RoundAggregator> TrimmedMean::BeginRound(int64_t num_elements) {
  return std::make_unique<TrimmedMeanAggregator>(num_elements, options_.max_updates, options_.trim_fraction);
}

absl::Status TrimmedMean::Apply(absl::Span<const float> delta, absl::Span<float> global) {
  return aggregation_internal::ApplyScaledDelta(delta, options_.server_learning_rate, global);
}

// Registration (aggregation/strategy_registry.h): options from [strategy.trimmed_mean].
namespace {

std::optional<StrategySpec> ReadTrimmedMean(ConfigSection table) {
  TrimmedMeanOptions o;
  ReadStrategyOption(table, "trim_fraction", &o.trim_fraction);
  ReadStrategyOption(table, "server_learning_rate", &o.server_learning_rate);
  ReadStrategyOption(table, "max_updates", &o.max_updates);
  return MakeStrategySpec<TrimmedMean>(table, "trimmed_mean", o,
                                       {{"trim_fraction", o.trim_fraction},
                                        {"server_learning_rate", o.server_learning_rate},
                                        {"max_updates", static_cast<double>(o.max_updates)}},
                                       o.max_updates);
}

const bool kRegistered = RegisterStrategy({.name = "trimmed_mean", .read = &ReadTrimmedMean});

}  // namespace

}  // namespace fedge
