#include "aggregation/internal/checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge::aggregation_internal {

absl::Status CheckHalfOpen(std::string_view option, double value, double lo, double hi) {
  if (std::isfinite(value) && value >= lo && value < hi) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(AsAbsl(option), " must be in [", lo, ", ", hi, "), got ", value));
}

absl::Status CheckPositive(std::string_view option, double value) {
  if (std::isfinite(value) && value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(option), " must be a positive number, got ", value));
}

absl::Status CheckNonNegative(std::string_view option, double value) {
  if (std::isfinite(value) && value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(option), " must be >= 0, got ", value));
}

absl::Status CheckAtLeast(std::string_view option, int64_t value, int64_t lo) {
  if (value >= lo) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(AsAbsl(option), " must be >= ", lo, ", got ", value));
}

absl::Status CheckRoundInput(int64_t update_size, int64_t round_size, double weight) {
  if (update_size != round_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("update has ", update_size, " elements, the round expects ", round_size));
  }
  if (!(std::isfinite(weight) && weight > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("aggregation weight must be positive and finite, got ", weight));
  }
  return absl::OkStatus();
}

absl::Status ApplyScaledDelta(absl::Span<const float> delta, double learning_rate,
                              absl::Span<float> global) {
  if (delta.size() != global.size()) {
    return absl::InvalidArgumentError(absl::StrCat("delta has ", delta.size(), " elements but the global model has ",
                                                   global.size()));
  }
  const float lr = static_cast<float>(learning_rate);
  for (size_t i = 0; i < global.size(); ++i) global[i] += lr * delta[i];
  return absl::OkStatus();
}

}  // namespace fedge::aggregation_internal
