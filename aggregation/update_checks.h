// File: aggregation/update_checks.h
//
// The boundary checks every strategy relies on, applied once by the
// coordinator to each decoded-on-the-fly update before it reaches an
// aggregator: a non-empty update of the expected size, finite values, an
// L2-norm bound, at least one training example, a cap on the example count
// a device may claim (its aggregation weight), and the metrics it reports.
// After these checks aggregators trust their input.
//
// The defaults are safe for any model: with both bounds on, the weighted sum
// of a round's updates stays far inside float range (max_examples *
// max_l2_norm * updates per round), so no device can overflow the aggregate
// whatever it sends. An honest SGD delta is orders of magnitude smaller.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_AGGREGATION_UPDATE_CHECKS_H_
#define FEDGE_AGGREGATION_UPDATE_CHECKS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/update_view.h"

namespace fedge {

struct UpdateLimits {
  // Updates with a larger L2 norm are rejected; 0 disables the bound (and
  // with it the overflow guarantee above: the federation then still fails a
  // round whose aggregate is not finite, but one device can make it fail).
  double max_l2_norm = 1000;
  // Claimed example counts above this are capped to it; 0 disables the cap.
  // The coordinator lowers it per task to the task's `max_examples` (a device
  // cannot have trained on more than it was asked to; see CapForTask).
  uint64_t max_examples = 100'000;
  // Updates of any other element count are rejected; 0 skips the check
  // (the aggregator's Add still rejects a mismatch).
  int64_t expected_elements = 0;
};

struct CheckedUpdate {
  double weight = 0;   // example count after capping
  double l2_norm = 0;
};

// The limits for one task: `max_examples` lowered to the task's own
// `task_max_examples` when that is set (> 0).
UpdateLimits CapForTask(UpdateLimits limits, int64_t task_max_examples);

// kInvalidArgument when max_l2_norm is negative or not finite or
// expected_elements is negative. Call once when the limits are configured.
absl::Status ValidateUpdateLimits(const UpdateLimits& limits);

// kInvalidArgument when the limits are invalid (see ValidateUpdateLimits),
// or the update is empty, has the wrong element count, has a non-finite
// value, exceeds the norm bound, or claims zero examples. Each message says
// what the device or operator has to change.
absl::StatusOr<CheckedUpdate> CheckUpdate(const UpdateView& update, uint64_t num_examples,
                                          const UpdateLimits& limits);

// The metrics an update may carry, the only ones a round record averages:
// what the device's trainer measured (train_loss, train_steps,
// train_seconds, local_accuracy, local_loss) and the delta's norm
// (update_norm).
bool IsKnownUpdateMetric(std::string_view name);

// Metrics are untrusted input that ends up in round records and signed model
// headers. kInvalidArgument when there are more than kMaxUpdateMetrics, a
// name is not one of the known ones above, or a value is not finite or has a
// magnitude above kMaxUpdateMetricMagnitude (losses, accuracies, counts and
// seconds are all far below it, and a weighted sum of them stays finite).
inline constexpr int kMaxUpdateMetrics = 16;
inline constexpr double kMaxUpdateMetricMagnitude = 1e9;
absl::Status CheckUpdateMetrics(const std::map<std::string, double>& metrics);

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_UPDATE_CHECKS_H_
