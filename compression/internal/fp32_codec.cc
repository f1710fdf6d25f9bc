#include "compression/internal/fp32_codec.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "compression/internal/bytes.h"
#include "compression/internal/sum_squares.h"

namespace fedge::compression_internal {
namespace {

// Reads floats from possibly unaligned payload bytes.
class Fp32View final : public UpdateView {
 public:
  Fp32View(const char* data, int64_t m, double squared_norm)
      : data_(data), m_(m), squared_norm_(squared_norm) {}

  int64_t size() const override { return m_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    const char* __restrict src = data_;
    float* __restrict a = acc.data();
    for (int64_t i = 0; i < m_; ++i) a[i] += weight * Load<float>(src + 4 * i);
  }

  void DecodeInto(absl::Span<float> out) const override {
    if (m_ > 0) std::memcpy(out.data(), data_, 4 * static_cast<size_t>(m_));
  }

  // Computed during validation, which had to read every value anyway.
  double SquaredNorm() const override { return squared_norm_; }

 private:
  const char* data_;
  int64_t m_;
  double squared_norm_;
};

class Fp32Codec final : public ValueCodec {
 public:
  size_t EncodedSize(int64_t m) const override { return 4 * static_cast<size_t>(m); }

  void Encode(absl::Span<const float> values, absl::BitGenRef, char* out) const override {
    if (!values.empty()) std::memcpy(out, values.data(), 4 * values.size());
  }

  absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const override {
    if (bytes.size() != EncodedSize(m)) return SectionSizeError("fp32", bytes.size(), EncodedSize(m), m);
    const char* data = bytes.data();
    const double sum = ChunkedSumOfSquares(m, [data](int64_t start, int64_t len, float* out) {
      std::memcpy(out, data + 4 * start, 4 * static_cast<size_t>(len));
    });
    // Finite exactly when every value is; only on failure look for which.
    if (!std::isfinite(sum)) {
      for (int64_t i = 0; i < m; ++i) {
        const float v = Load<float>(bytes.data() + 4 * i);
        if (!std::isfinite(v)) {
          return absl::InvalidArgumentError(absl::StrCat("fp32 payload: value ", i, " is ", v));
        }
      }
    }
    return std::make_unique<Fp32View>(bytes.data(), m, sum);
  }
};

}  // namespace

std::unique_ptr<ValueCodec> MakeFp32Codec() { return std::make_unique<Fp32Codec>(); }

}  // namespace fedge::compression_internal
