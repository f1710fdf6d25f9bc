#include "aggregation/fedadagrad.h"

namespace fedge {

void FedAdagrad::UpdateSecondMoment(absl::Span<const float> delta, absl::Span<float> v) const {
  for (size_t i = 0; i < v.size(); ++i) v[i] += delta[i] * delta[i];
}

}  // namespace fedge
