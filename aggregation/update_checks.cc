#include "aggregation/update_checks.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedge {

absl::StatusOr<CheckedUpdate> CheckUpdate(const UpdateView& update, uint64_t num_examples,
                                          const UpdateLimits& limits) {
  if (num_examples == 0) return absl::InvalidArgumentError("update claims zero training examples");
  const double sq = update.SquaredNorm();
  if (!std::isfinite(sq)) return absl::InvalidArgumentError("update contains NaN or infinite values");
  CheckedUpdate checked;
  checked.l2_norm = std::sqrt(sq);
  if (limits.max_l2_norm > 0 && checked.l2_norm > limits.max_l2_norm) {
    return absl::InvalidArgumentError(
        absl::StrCat("update L2 norm ", checked.l2_norm, " exceeds the bound ", limits.max_l2_norm));
  }
  const uint64_t capped = limits.max_examples > 0 ? std::min(num_examples, limits.max_examples) : num_examples;
  checked.weight = static_cast<double>(capped);
  return checked;
}

}  // namespace fedge
