// File: core/update_view.h
//
// `UpdateView` is the seam between update codecs (compression/) and
// aggregation strategies (aggregation/): a validated, still-encoded model
// delta that can be folded into an accumulator without first being decoded
// into a full float copy. Codecs produce views from untrusted bytes after
// structural validation; strategies consume them.
//
// Thread-safety: const methods are safe to call concurrently.
#ifndef FEDGE_CORE_UPDATE_VIEW_H_
#define FEDGE_CORE_UPDATE_VIEW_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace fedge {

class UpdateView {
 public:
  virtual ~UpdateView() = default;

  // Number of float elements the update decodes to.
  virtual int64_t size() const = 0;
  // acc[i] += weight * update[i]. REQUIRES: acc.size() == size().
  virtual void AccumulateInto(absl::Span<float> acc, float weight) const = 0;
  // out[i] = update[i]. REQUIRES: out.size() == size().
  virtual void DecodeInto(absl::Span<float> out) const = 0;
  // Squared L2 norm of the decoded update, accumulated in double. It is
  // finite exactly when every decoded value is finite, so callers use it as
  // the single finiteness-and-norm check at the trust boundary.
  virtual double SquaredNorm() const = 0;
};

// A view over a plain float vector it does not own. `values` must outlive
// the view.
class DenseUpdateView final : public UpdateView {
 public:
  explicit DenseUpdateView(absl::Span<const float> values) : values_(values) {}
  int64_t size() const override { return static_cast<int64_t>(values_.size()); }
  void AccumulateInto(absl::Span<float> acc, float weight) const override;
  void DecodeInto(absl::Span<float> out) const override;
  double SquaredNorm() const override;

 private:
  absl::Span<const float> values_;
};

}  // namespace fedge

#endif  // FEDGE_CORE_UPDATE_VIEW_H_
