#include "core/update_view.h"

#include <algorithm>

#include "core/params.h"

namespace fedge {

void DenseUpdateView::AccumulateInto(absl::Span<float> acc, float weight) const {
  const float* v = values_.data();
  float* a = acc.data();
  const size_t n = values_.size();
  for (size_t i = 0; i < n; ++i) a[i] += weight * v[i];
}

void DenseUpdateView::DecodeInto(absl::Span<float> out) const {
  std::copy(values_.begin(), values_.end(), out.begin());
}

double DenseUpdateView::SquaredNorm() const { return fedge::SquaredNorm(values_); }

}  // namespace fedge
