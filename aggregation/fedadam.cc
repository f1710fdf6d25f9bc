#include "aggregation/fedadam.h"

namespace fedge {

void FedAdam::UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const {
  const float beta2 = static_cast<float>(options().beta2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = beta2 * v[i] + (1.0f - beta2) * delta[i] * delta[i];
}

}  // namespace fedge
