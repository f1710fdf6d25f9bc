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

// Owns the decoded indices and kept values (k is a small fraction of n, so
// this is not the full float copy fused decoding avoids).
class SparseView final : public UpdateView {
 public:
  SparseView(int64_t n, std::vector<uint32_t> indices, std::vector<float> values, double squared_norm)
      : n_(n), indices_(std::move(indices)), values_(std::move(values)), squared_norm_(squared_norm) {}

  int64_t size() const override { return n_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    float* a = acc.data();
    for (size_t j = 0; j < values_.size(); ++j) a[indices_[j]] += weight * values_[j];
  }

  void DecodeInto(absl::Span<float> out) const override {
    std::fill(out.begin(), out.end(), 0.0f);
    for (size_t j = 0; j < values_.size(); ++j) out[indices_[j]] = values_[j];
  }

  double SquaredNorm() const override { return squared_norm_; }

 private:
  int64_t n_;
  std::vector<uint32_t> indices_;
  std::vector<float> values_;
  double squared_norm_;
};

// Bits per index: enough for n - 1 (at least 1).
int IndexBits(int64_t n) {
  int bits = 1;
  while (bits < 32 && (int64_t{1} << bits) < n) ++bits;
  return bits;
}

size_t IndexSectionSize(int64_t k, int64_t n) { return (static_cast<size_t>(k) * IndexBits(n) + 7) / 8; }

// Unpacks k indices of IndexBits(n) bits each (LSB first) and checks them.
absl::StatusOr<std::vector<uint32_t>> ReadIndices(const unsigned char* p, int64_t n, int64_t k) {
  const int bits = IndexBits(n);
  std::vector<uint32_t> indices(k);
  uint64_t buffer = 0;
  int buffered = 0;
  int64_t previous = -1;
  for (int64_t j = 0; j < k; ++j) {
    while (buffered < bits) {
      buffer |= static_cast<uint64_t>(*p++) << buffered;
      buffered += 8;
    }
    const int64_t index = static_cast<int64_t>(buffer & ((uint64_t{1} << bits) - 1));
    buffer >>= bits;
    buffered -= bits;
    if (index >= n) {
      return absl::InvalidArgumentError(
          absl::StrCat("topk payload: index ", j, " is ", index, ", outside [0, ", n, ")"));
    }
    if (index == previous) return absl::InvalidArgumentError(absl::StrCat("topk payload: duplicate index ", index));
    if (index < previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("topk payload: indices must be strictly increasing, but ", index, " follows ", previous));
    }
    indices[j] = static_cast<uint32_t>(previous = index);
  }
  if (buffer != 0) return absl::InvalidArgumentError("topk payload: padding bits of the index section are not zero");
  return indices;
}

void WriteIndices(absl::Span<const uint32_t> indices, int64_t n, char* out) {
  const int bits = IndexBits(n);
  uint64_t buffer = 0;
  int buffered = 0;
  for (uint32_t index : indices) {
    buffer |= static_cast<uint64_t>(index) << buffered;
    buffered += bits;
    while (buffered >= 8) {
      *out++ = static_cast<char>(buffer & 0xff);
      buffer >>= 8;
      buffered -= 8;
    }
  }
  if (buffered > 0) *out = static_cast<char>(buffer & 0xff);
}

}  // namespace

size_t TopKEncodedSize(int64_t k, int64_t n, const ValueCodec& values) {
  return IndexSectionSize(k, n) + values.EncodedSize(k);
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
  for (int64_t j = 0; j < k; ++j) kept[j] = x[order[j]];
  const int64_t n = static_cast<int64_t>(x.size());
  WriteIndices(order, n, out);
  values.Encode(kept, gen, out + IndexSectionSize(k, n));
}

absl::StatusOr<std::unique_ptr<UpdateView>> ParseTopK(std::string_view bytes, int64_t n, int64_t k,
                                                       const ValueCodec& values) {
  const size_t expected = TopKEncodedSize(k, n, values);
  if (bytes.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("topk payload has ", bytes.size(), " bytes but ", k, " of ", n,
                                                   " values take exactly ", expected, " bytes"));
  }
  FEDGE_ASSIGN_OR_RETURN(std::vector<uint32_t> indices,
                         ReadIndices(reinterpret_cast<const unsigned char*>(bytes.data()), n, k));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<UpdateView> kept, values.Parse(bytes.substr(IndexSectionSize(k, n)), k));
  std::vector<float> decoded(k);
  kept->DecodeInto(absl::MakeSpan(decoded));
  return std::make_unique<SparseView>(n, std::move(indices), std::move(decoded), kept->SquaredNorm());
}

}  // namespace fedge::compression_internal
