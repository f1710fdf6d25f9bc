// File: aggregation/internal/checks.h
//
// Small helpers shared by the strategies of aggregation/: validation of
// option values with messages that name the option and the accepted range,
// and the plain server step `global += lr * delta`. Not part of the public
// API; include only from aggregation/.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_AGGREGATION_INTERNAL_CHECKS_H_
#define FEDGE_AGGREGATION_INTERNAL_CHECKS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace fedge::aggregation_internal {

// kInvalidArgument unless lo <= value < hi (and value is finite).
absl::Status CheckHalfOpen(std::string_view option, double value, double lo, double hi);
// kInvalidArgument unless value > 0 and finite.
absl::Status CheckPositive(std::string_view option, double value);
// kInvalidArgument unless value >= 0 and finite.
absl::Status CheckNonNegative(std::string_view option, double value);
// kInvalidArgument unless value >= lo.
absl::Status CheckAtLeast(std::string_view option, int64_t value, int64_t lo);

// kInvalidArgument unless the update and the round agree on the element
// count and the weight is positive and finite. Used by every aggregator's Add.
absl::Status CheckRoundInput(int64_t update_size, int64_t round_size, double weight);

// global[i] += learning_rate * delta[i]. kInvalidArgument when the sizes
// differ.
absl::Status ApplyScaledDelta(absl::Span<const float> delta, double learning_rate,
                              absl::Span<float> global);

}  // namespace fedge::aggregation_internal

#endif  // FEDGE_AGGREGATION_INTERNAL_CHECKS_H_
