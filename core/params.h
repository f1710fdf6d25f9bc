// File: core/params.h
//
// Flat parameter vectors and the tensor layout that gives them meaning.
// Aggregation, codecs and the accountant work on flat `float` buffers; the
// layout (ordered tensor names and shapes) is what lets a flat vector be
// poured back into a model. A layout is identified on the wire by `id()`, a
// 64-bit FNV-1a hash of its names and shapes, so a device and the
// coordinator can check they agree without shipping the layout.
//
// Thread-safety: immutable after construction; safe to share.
#ifndef FEDGE_CORE_PARAMS_H_
#define FEDGE_CORE_PARAMS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fedge {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;

  // Product of the dimensions (1 for a scalar).
  int64_t num_elements() const;
  bool operator==(const TensorSpec&) const = default;
};

class ParamLayout {
 public:
  ParamLayout() = default;
  // Returns kInvalidArgument for empty or duplicate names or non-positive
  // dimensions.
  static absl::StatusOr<ParamLayout> Create(std::vector<TensorSpec> tensors);

  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  // Total number of float elements.
  int64_t num_elements() const { return num_elements_; }
  // Offset of tensor `i` in the flat vector. REQUIRES: i < tensors().size().
  int64_t offset(size_t i) const { return offsets_[i]; }
  uint64_t id() const { return id_; }

  bool operator==(const ParamLayout& other) const { return id_ == other.id_ && tensors_ == other.tensors_; }

 private:
  std::vector<TensorSpec> tensors_;
  std::vector<int64_t> offsets_;
  int64_t num_elements_ = 0;
  uint64_t id_ = 0;
};

// A model's parameters: a layout plus one float per element.
struct ModelParams {
  ParamLayout layout;
  std::vector<float> values;

  // Returns kInvalidArgument when values.size() != layout.num_elements().
  absl::Status Validate() const;
};

// Squared L2 norm, accumulated in double.
double SquaredNorm(absl::Span<const float> v);

}  // namespace fedge

#endif  // FEDGE_CORE_PARAMS_H_
