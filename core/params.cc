#include "core/params.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace fedge {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void FnvMix(uint64_t& h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
}

}  // namespace

int64_t TensorSpec::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

absl::StatusOr<ParamLayout> ParamLayout::Create(std::vector<TensorSpec> tensors) {
  ParamLayout layout;
  absl::flat_hash_set<std::string> names;
  uint64_t h = kFnvOffset;
  for (const TensorSpec& t : tensors) {
    if (t.name.empty()) return absl::InvalidArgumentError("parameter layout: tensor with an empty name");
    if (!names.insert(t.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("parameter layout: duplicate tensor name '", t.name, "'"));
    }
    for (int64_t d : t.shape) {
      if (d <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter layout: tensor '", t.name, "' has non-positive dimension ", d));
      }
    }
    layout.offsets_.push_back(layout.num_elements_);
    layout.num_elements_ += t.num_elements();
    FnvMix(h, t.name.data(), t.name.size());
    FnvMix(h, "\0", 1);
    for (int64_t d : t.shape) FnvMix(h, &d, sizeof(d));
    FnvMix(h, "\xff", 1);
  }
  layout.tensors_ = std::move(tensors);
  layout.id_ = h;
  return layout;
}

absl::Status ModelParams::Validate() const {
  if (static_cast<int64_t>(values.size()) != layout.num_elements()) {
    return absl::InvalidArgumentError(absl::StrCat("model parameters: ", values.size(),
                                                   " values for a layout of ", layout.num_elements(),
                                                   " elements"));
  }
  return absl::OkStatus();
}

double SquaredNorm(absl::Span<const float> v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s;
}

}  // namespace fedge
