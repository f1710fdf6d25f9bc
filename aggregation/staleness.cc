#include "aggregation/staleness.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedge {

absl::Status StalenessOptions::Validate() const {
  if (!(std::isfinite(exponent) && exponent >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("async staleness_exponent must be finite and >= 0 (0 weighs every update alike), got ", exponent));
  }
  if (max_staleness < 0) {
    return absl::InvalidArgumentError(absl::StrCat("async max_staleness must be >= 0, got ", max_staleness));
  }
  return absl::OkStatus();
}

double StalenessWeight(int64_t staleness, double exponent) {
  return std::pow(1.0 + static_cast<double>(staleness), -exponent);
}

void ScaledUpdateView::AccumulateInto(absl::Span<float> acc, float weight) const {
  inner_->AccumulateInto(acc, static_cast<float>(weight * scale_));
}

void ScaledUpdateView::DecodeInto(absl::Span<float> out) const {
  inner_->DecodeInto(out);
  const float s = static_cast<float>(scale_);
  for (float& v : out) v *= s;
}

double ScaledUpdateView::SquaredNorm() const { return inner_->SquaredNorm() * scale_ * scale_; }

}  // namespace fedge
