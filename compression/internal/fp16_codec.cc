#include "compression/internal/fp16_codec.h"

#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "compression/internal/bytes.h"
#include "compression/internal/sum_squares.h"

namespace fedge::compression_internal {
namespace {

constexpr uint16_t kHalfExponentMask = 0x7c00;

class Fp16View final : public UpdateView {
 public:
  Fp16View(const char* data, int64_t m, double squared_norm)
      : data_(data), m_(m), squared_norm_(squared_norm) {}

  int64_t size() const override { return m_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    const char* __restrict src = data_;
    float* __restrict a = acc.data();
    for (int64_t i = 0; i < m_; ++i) a[i] += weight * HalfToFloat(Load<uint16_t>(src + 2 * i));
  }

  void DecodeInto(absl::Span<float> out) const override {
    for (int64_t i = 0; i < m_; ++i) out[i] = HalfToFloat(Load<uint16_t>(data_ + 2 * i));
  }

  double SquaredNorm() const override { return squared_norm_; }

 private:
  const char* data_;
  int64_t m_;
  double squared_norm_;
};

class Fp16Codec final : public ValueCodec {
 public:
  size_t EncodedSize(int64_t m) const override { return 2 * static_cast<size_t>(m); }

  void Encode(absl::Span<const float> values, absl::BitGenRef, char* out) const override {
    for (size_t i = 0; i < values.size(); ++i) Store<uint16_t>(out + 2 * i, FloatToHalf(values[i]));
  }

  absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const override {
    if (bytes.size() != EncodedSize(m)) return SectionSizeError("fp16", bytes.size(), EncodedSize(m), m);
    const char* data = bytes.data();
    // A branch-free scan first (it vectorises); locate the culprit only on failure.
    // An all-ones exponent is the one that carries into bit 15 when 0x0400
    // is added to it.
    uint32_t carries = 0;
    for (int64_t i = 0; i < m; ++i) carries |= (Load<uint16_t>(data + 2 * i) & kHalfExponentMask) + 0x0400u;
    if (carries & 0x8000u) {
      for (int64_t i = 0; i < m; ++i) {
        const uint16_t h = Load<uint16_t>(data + 2 * i);
        if ((h & kHalfExponentMask) == kHalfExponentMask) {
          return absl::InvalidArgumentError(
              absl::StrCat("fp16 payload: value ", i, " is ", (h & 0x3ff) ? "NaN" : "infinite"));
        }
      }
    }
    const double sum = ChunkedSumOfSquares(m, [data](int64_t start, int64_t len, float* out) {
      for (int64_t i = 0; i < len; ++i) out[i] = HalfToFloat(Load<uint16_t>(data + 2 * (start + i)));
    });
    return std::make_unique<Fp16View>(bytes.data(), m, sum);
  }
};

}  // namespace

uint16_t FloatToHalf(float x) {
  uint32_t f = std::bit_cast<uint32_t>(x);
  const uint32_t sign = (f >> 16) & 0x8000;
  f &= 0x7fffffff;
  uint32_t h;
  if (f >= 0x477fe000u) {  // |x| >= 65504
    h = 0x7bff;
  } else if (f < 0x38800000u) {  // |x| < 2^-14: a half subnormal or zero
    // In 0.5 + |x| the float's last mantissa bit is worth 2^-24, the half
    // subnormal step, so the FPU's own nearest-even rounding does the work.
    h = std::bit_cast<uint32_t>(std::bit_cast<float>(f) + 0.5f) - 0x3f000000u;
  } else {
    const uint32_t mantissa_odd = (f >> 13) & 1;
    // 0xc8000000 is (15 - 127) << 23 mod 2^32: it rebiases the exponent.
    f += 0xc8000000u + 0xfff + mantissa_odd;  // round half to even
    h = f >> 13;
  }
  return static_cast<uint16_t>(h | sign);
}

float HalfToFloat(uint16_t h) {
  // Shift exponent and mantissa into float position and rebias the exponent
  // by 127 - 15. A half subnormal m * 2^-24 is built as (1 + m/1024) * 2^-14
  // minus 2^-14 rather than by scaling a float denormal, because x86 takes a
  // slow microcode path for denormal operands. Branch-free, so it vectorises.
  const uint32_t bits = static_cast<uint32_t>(h & 0x7fff) << 13;
  const float normal = std::bit_cast<float>(bits + (112u << 23));
  const float subnormal = std::bit_cast<float>(bits + (113u << 23)) - 0x1p-14f;
  // Integer select: GCC will not if-convert a float ternary (the subtraction
  // could trap under -ftrapping-math) and would leave a branch.
  const uint32_t is_subnormal = 0u - static_cast<uint32_t>((bits & 0x0f800000u) == 0);
  const uint32_t magnitude = (std::bit_cast<uint32_t>(subnormal) & is_subnormal) |
                             (std::bit_cast<uint32_t>(normal) & ~is_subnormal);
  return std::bit_cast<float>(magnitude | (static_cast<uint32_t>(h & 0x8000) << 16));
}

std::unique_ptr<ValueCodec> MakeFp16Codec() { return std::make_unique<Fp16Codec>(); }

}  // namespace fedge::compression_internal
