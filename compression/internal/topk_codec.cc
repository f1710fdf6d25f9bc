#include "compression/internal/topk_codec.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compression/internal/bytes.h"
#include "core/status.h"

namespace fedge::compression_internal {
namespace {

// Owns the decoded kept values (k is a small fraction of n, so this is not
// the full float copy fused decoding avoids).
class SparseView final : public UpdateView {
 public:
  SparseView(int64_t n, const char* indices, std::vector<float> values, double squared_norm)
      : n_(n), indices_(indices), values_(std::move(values)), squared_norm_(squared_norm) {}

  int64_t size() const override { return n_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    float* a = acc.data();
    for (size_t j = 0; j < values_.size(); ++j) a[Load<uint32_t>(indices_ + 4 * j)] += weight * values_[j];
  }

  void DecodeInto(absl::Span<float> out) const override {
    std::fill(out.begin(), out.end(), 0.0f);
    for (size_t j = 0; j < values_.size(); ++j) out[Load<uint32_t>(indices_ + 4 * j)] = values_[j];
  }

  double SquaredNorm() const override { return squared_norm_; }

 private:
  int64_t n_;
  const char* indices_;
  std::vector<float> values_;
  double squared_norm_;
};

absl::Status CheckIndices(const char* indices, int64_t n, int64_t k) {
  int64_t previous = -1;
  for (int64_t j = 0; j < k; ++j) {
    const int64_t index = Load<uint32_t>(indices + 4 * j);
    if (index >= n) {
      return absl::InvalidArgumentError(
          absl::StrCat("topk payload: index ", j, " is ", index, ", outside [0, ", n, ")"));
    }
    if (index == previous) {
      return absl::InvalidArgumentError(absl::StrCat("topk payload: duplicate index ", index));
    }
    if (index < previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("topk payload: indices must be strictly increasing, but ", index, " follows ", previous));
    }
    previous = index;
  }
  return absl::OkStatus();
}

}  // namespace

size_t TopKEncodedSize(int64_t k, const ValueCodec& values) {
  return 4 * static_cast<size_t>(k) + values.EncodedSize(k);
}

void EncodeTopK(absl::Span<const float> x, int64_t k, const ValueCodec& values, absl::BitGenRef gen,
                char* out) {
  std::vector<uint32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0u);
  auto larger = [&x](uint32_t a, uint32_t b) {
    const float fa = std::fabs(x[a]), fb = std::fabs(x[b]);
    return fa > fb || (fa == fb && a < b);
  };
  std::nth_element(order.begin(), order.begin() + k, order.end(), larger);
  order.resize(k);
  std::sort(order.begin(), order.end());
  std::vector<float> kept(k);
  for (int64_t j = 0; j < k; ++j) {
    Store<uint32_t>(out + 4 * j, order[j]);
    kept[j] = x[order[j]];
  }
  values.Encode(kept, gen, out + 4 * k);
}

absl::StatusOr<std::unique_ptr<UpdateView>> ParseTopK(std::string_view bytes, int64_t n, int64_t k,
                                                       const ValueCodec& values) {
  const size_t expected = TopKEncodedSize(k, values);
  if (bytes.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("topk payload has ", bytes.size(), " bytes but ", k, " of ", n,
                                                   " values take exactly ", expected, " bytes"));
  }
  FEDGE_RETURN_IF_ERROR(CheckIndices(bytes.data(), n, k));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<UpdateView> kept, values.Parse(bytes.substr(4 * k), k));
  std::vector<float> decoded(k);
  kept->DecodeInto(absl::MakeSpan(decoded));
  return std::make_unique<SparseView>(n, bytes.data(), std::move(decoded), kept->SquaredNorm());
}

}  // namespace fedge::compression_internal
