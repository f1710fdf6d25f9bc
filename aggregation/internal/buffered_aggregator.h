// File: aggregation/internal/buffered_aggregator.h
//
// The base of the aggregators that need every update of a round at once
// (coordinate median, trimmed mean, Krum): it decodes each update into its
// own row, bounds the number of rows, and hands the rows to the subclass's
// Combine once the round closes. Memory: max_updates * num_elements floats
// at most, released by Finish.
//
// Also `ForEachColumn`, which walks the rows coordinate by coordinate in
// cache-friendly blocks, for the coordinate-wise statistics.
//
// Thread-safety: not thread-safe (one thread at a time, as RoundAggregator).
#ifndef FEDGE_AGGREGATION_INTERNAL_BUFFERED_AGGREGATOR_H_
#define FEDGE_AGGREGATION_INTERNAL_BUFFERED_AGGREGATOR_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aggregation/strategy.h"

namespace fedge::aggregation_internal {

using UpdateRows = std::vector<std::vector<float>>;

class BufferedAggregator : public RoundAggregator {
 public:
  // `strategy` names the owner in error messages.
  // REQUIRES: 1 <= min_updates <= max_updates, num_elements >= 0.
  BufferedAggregator(std::string_view strategy, int64_t num_elements, int64_t min_updates, int64_t max_updates);

  // Stores a decoded copy of `update`; the weight is checked but not used
  // (robust statistics must not let a device buy influence with a claimed
  // example count). kInvalidArgument on a size mismatch or a non-positive
  // weight, kResourceExhausted once max_updates are held,
  // kFailedPrecondition after Finish.
  absl::Status Add(const UpdateView& update, double weight) final;
  int64_t num_updates() const final { return static_cast<int64_t>(rows_.size()); }
  // kFailedPrecondition with fewer than min_updates updates or when called
  // twice; otherwise Combine(rows) and the rows are released.
  absl::StatusOr<std::vector<float>> Finish() final;

 protected:
  // REQUIRES: rows.size() >= min_updates, every row num_elements() long.
  virtual std::vector<float> Combine(const UpdateRows& rows) const = 0;
  int64_t num_elements() const { return num_elements_; }

 private:
  std::string strategy_;
  int64_t num_elements_;
  int64_t min_updates_;
  int64_t max_updates_;
  bool finished_ = false;
  UpdateRows rows_;
};

// Calls fn(j, column) for every coordinate j in [0, num_elements), where
// `column` (an absl::Span<float> the callback may reorder) holds rows[i][j]
// for every row i. Columns are gathered in blocks so each row is read
// sequentially rather than with a stride of the model size.
template <typename Fn>
void ForEachColumn(const UpdateRows& rows, int64_t num_elements, Fn&& fn) {
  constexpr int64_t kBlock = 256;
  const int64_t n = static_cast<int64_t>(rows.size());
  std::vector<float> scratch(static_cast<size_t>(n * kBlock));
  for (int64_t begin = 0; begin < num_elements; begin += kBlock) {
    const int64_t count = std::min(kBlock, num_elements - begin);
    for (int64_t i = 0; i < n; ++i) {
      const float* row = rows[i].data() + begin;
      for (int64_t k = 0; k < count; ++k) scratch[k * n + i] = row[k];
    }
    for (int64_t k = 0; k < count; ++k) fn(begin + k, absl::MakeSpan(scratch.data() + k * n, n));
  }
}

}  // namespace fedge::aggregation_internal

#endif  // FEDGE_AGGREGATION_INTERNAL_BUFFERED_AGGREGATOR_H_
