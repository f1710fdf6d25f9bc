#include "aggregation/update_checks.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {

absl::Status ValidateUpdateLimits(const UpdateLimits& limits) {
  if (!(std::isfinite(limits.max_l2_norm) && limits.max_l2_norm >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("UpdateLimits.max_l2_norm must be >= 0 (0 disables the bound), got ",
                                                   limits.max_l2_norm));
  }
  if (limits.expected_elements < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "UpdateLimits.expected_elements must be >= 0 (0 skips the check), got ", limits.expected_elements));
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckedUpdate> CheckUpdate(const UpdateView& update, uint64_t num_examples,
                                          const UpdateLimits& limits) {
  FEDGE_RETURN_IF_ERROR(ValidateUpdateLimits(limits));
  if (update.size() == 0) {
    return absl::InvalidArgumentError("update is empty; the device must send a delta for every model parameter");
  }
  if (limits.expected_elements > 0 && update.size() != limits.expected_elements) {
    return absl::InvalidArgumentError(absl::StrCat("update has ", update.size(), " elements but the model has ",
                                                   limits.expected_elements,
                                                   "; the device trained a different model layout"));
  }
  if (num_examples == 0) {
    return absl::InvalidArgumentError(
        "update claims zero training examples; a device must train on at least one example before reporting");
  }
  // One pass: the squared norm is finite exactly when every value is.
  const double sq = update.SquaredNorm();
  if (!std::isfinite(sq)) {
    return absl::InvalidArgumentError(
        "update contains NaN or infinite values; the device's training diverged (lower its learning rate) or the "
        "payload is corrupt");
  }
  CheckedUpdate checked;
  checked.l2_norm = std::sqrt(sq);
  if (limits.max_l2_norm > 0 && checked.l2_norm > limits.max_l2_norm) {
    return absl::InvalidArgumentError(
        absl::StrCat("update L2 norm ", checked.l2_norm, " exceeds the bound ", limits.max_l2_norm,
                     " (UpdateLimits.max_l2_norm); clip updates on the device (TrainConfig.update_clip_norm) or "
                     "raise the bound"));
  }
  const uint64_t capped = limits.max_examples > 0 ? std::min(num_examples, limits.max_examples) : num_examples;
  checked.weight = static_cast<double>(capped);
  return checked;
}

UpdateLimits CapForTask(UpdateLimits limits, int64_t task_max_examples) {
  if (task_max_examples > 0) {
    const auto task_cap = static_cast<uint64_t>(task_max_examples);
    limits.max_examples = limits.max_examples > 0 ? std::min(limits.max_examples, task_cap) : task_cap;
  }
  return limits;
}

bool IsKnownUpdateMetric(std::string_view name) {
  static constexpr std::string_view kKnown[] = {"train_loss", "train_steps",    "train_seconds",
                                                "local_accuracy", "local_loss", "update_norm"};
  return std::find(std::begin(kKnown), std::end(kKnown), name) != std::end(kKnown);
}

absl::Status CheckUpdateMetrics(const std::map<std::string, double>& metrics) {
  if (metrics.size() > static_cast<size_t>(kMaxUpdateMetrics)) {
    return absl::InvalidArgumentError(absl::StrCat("update carries ", metrics.size(), " metrics; at most ",
                                                   kMaxUpdateMetrics, " are accepted"));
  }
  for (const auto& [name, value] : metrics) {
    if (!IsKnownUpdateMetric(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update metric '", absl::CHexEscape(name.substr(0, 64)),
          "' is not one the coordinator records (train_loss, train_steps, train_seconds, local_accuracy, "
          "local_loss, update_norm)"));
    }
    if (!(std::fabs(value) <= kMaxUpdateMetricMagnitude)) {
      return absl::InvalidArgumentError(absl::StrCat("update metric '", name, "' is ", value,
                                                     "; metric values must be finite and within ±",
                                                     kMaxUpdateMetricMagnitude));
    }
  }
  return absl::OkStatus();
}

}  // namespace fedge
