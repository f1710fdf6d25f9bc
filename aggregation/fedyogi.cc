#include "aggregation/fedyogi.h"

namespace fedge {

void FedYogi::UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const {
  // Unlike Adam, v moves by an additive step whose direction is set by the
  // sign of (v - delta^2), so a single large pseudo-gradient cannot make v
  // forget its history too quickly. v stays positive: it shrinks by at most
  // (1 - beta2) * delta^2 < v when v > delta^2.
  const float beta2 = static_cast<float>(options().beta2);
  for (size_t i = 0; i < v.size(); ++i) {
    const float g2 = delta[i] * delta[i];
    const float diff = v[i] - g2;
    const float sign = diff > 0 ? 1.0f : (diff < 0 ? -1.0f : 0.0f);
    v[i] -= (1.0f - beta2) * g2 * sign;
  }
}

}  // namespace fedge
