// File: aggregation/update_checks.h
//
// The boundary checks every strategy relies on, applied once by the
// coordinator to each decoded-on-the-fly update before it reaches an
// aggregator: a non-empty update of the expected size, finite values, an
// optional L2-norm bound, at least one training example, and a cap on the
// example count a device may claim (its aggregation weight). After these
// checks aggregators trust their input.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_AGGREGATION_UPDATE_CHECKS_H_
#define FEDGE_AGGREGATION_UPDATE_CHECKS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/update_view.h"

namespace fedge {

struct UpdateLimits {
  // Updates with a larger L2 norm are rejected; 0 disables the bound.
  double max_l2_norm = 0;
  // Claimed example counts above this are capped to it; 0 disables the cap.
  uint64_t max_examples = 0;
  // Updates of any other element count are rejected; 0 skips the check
  // (the aggregator's Add still rejects a mismatch).
  int64_t expected_elements = 0;
};

struct CheckedUpdate {
  double weight = 0;   // example count after capping
  double l2_norm = 0;
};

// kInvalidArgument when max_l2_norm is negative or not finite or
// expected_elements is negative. Call once when the limits are configured.
absl::Status ValidateUpdateLimits(const UpdateLimits& limits);

// kInvalidArgument when the limits are invalid (see ValidateUpdateLimits),
// or the update is empty, has the wrong element count, has a non-finite
// value, exceeds the norm bound, or claims zero examples. Each message says
// what the device or operator has to change.
absl::StatusOr<CheckedUpdate> CheckUpdate(const UpdateView& update, uint64_t num_examples,
                                          const UpdateLimits& limits);

}  // namespace fedge

#endif  // FEDGE_AGGREGATION_UPDATE_CHECKS_H_
