// File: inference/quantization.h
//
// The integer arithmetic of fedge's int8 format (inference/README.md),
// shared by the runtime and by the post-training quantiser in compression/:
//
//  * activations: per-tensor affine int8, real = scale * (q - zero_point);
//  * weights: per-output-channel symmetric int8, real = scale[c] * q, q in
//    [-127, 127] (-128 is never produced, so negating a weight cannot overflow);
//  * biases: int32 with scale input_scale * weight_scale[c] and zero point 0;
//  * requantisation: a real multiplier M in (0, 2^15) is represented as a
//    normalised int32 Q31 multiplier q in [2^30, 2^31) and a power-of-two
//    exponent, M = q * 2^(shift - 31), and applied with a saturating rounding
//    doubling high multiply followed by a rounding right shift (the gemmlowp /
//    TFLite scheme, implemented here from its definition).
//
// Example:
//   QuantizedMultiplier m = QuantizeMultiplier(0.0123);
//   int32_t y = MultiplyByQuantizedMultiplier(acc, m);   // ~= round(acc * 0.0123)
//
// Thread-safety: pure functions.
#ifndef FEDGE_INFERENCE_QUANTIZATION_H_
#define FEDGE_INFERENCE_QUANTIZATION_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace fedge {

inline constexpr int32_t kInt8Min = -128;
inline constexpr int32_t kInt8Max = 127;
// Largest magnitude of a quantised weight (symmetric range).
inline constexpr int32_t kWeightQuantMax = 127;

// Affine parameters of an int8 activation tensor.
struct ActivationQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// A real multiplier in fixed point: real = multiplier * 2^(shift - 31).
// `multiplier` is 0 (real too small to represent) or in [2^30, 2^31).
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int shift = 0;  // left shift if > 0, right shift by -shift if < 0
};

// Largest real multiplier the runtime accepts (larger ones mean inconsistent
// scales, and would saturate almost every output anyway).
inline constexpr double kMaxRealMultiplier = 32768.0;

// Decomposes `real` (finite, >= 0 and < kMaxRealMultiplier). Multipliers
// below 2^-32 underflow to {0, 0} (every output equals the zero point).
// kInvalidArgument for negative, non-finite or too large values.
absl::StatusOr<QuantizedMultiplier> QuantizeMultiplier(double real);

// round(a * b / 2^31) with ties away from zero, saturating the single
// overflowing case a == b == INT32_MIN.
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  // Division (not a shift) truncates toward zero, which together with the
  // signed nudge rounds half away from zero.
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// x / 2^exponent rounded to nearest, ties away from zero. 0 <= exponent <= 31.
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// round(x * real multiplier) in the fixed-point scheme above. A left shift
// saturates to the int32 range instead of overflowing.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, QuantizedMultiplier m) {
  int32_t shifted = x;
  int right = -m.shift;
  if (m.shift > 0) {
    const int64_t wide = static_cast<int64_t>(x) * (int64_t{1} << m.shift);
    shifted = static_cast<int32_t>(wide > std::numeric_limits<int32_t>::max()   ? std::numeric_limits<int32_t>::max()
                                   : wide < std::numeric_limits<int32_t>::min() ? std::numeric_limits<int32_t>::min()
                                                                                 : wide);
    right = 0;
  }
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, m.multiplier), right);
}

// Per-output-channel symmetric quantisation of a weight tensor whose leading
// dimension is the output channel (row-major [out_channels, ...]).
struct PerChannelWeights {
  std::vector<int8_t> values;  // same layout as the float input
  std::vector<float> scales;   // one per output channel, > 0
};

// scale[c] = max|w[c, :]| / 127 (a channel of zeros gets scale 1), values
// round-to-nearest-even and clamped to [-127, 127]. kInvalidArgument if
// out_channels <= 0, the size is not a multiple of it, or a weight is not
// finite.
absl::StatusOr<PerChannelWeights> QuantizeWeightsPerChannel(absl::Span<const float> weights, int out_channels);

// Quantises biases to int32 at scale input_scale * weight_scales[c]. The
// result is clamped to +-2^30 so accumulations keep headroom.
// kInvalidArgument on size mismatch or non-finite values.
absl::StatusOr<std::vector<int32_t>> QuantizeBias(absl::Span<const float> bias, float input_scale,
                                                  absl::Span<const float> weight_scales);

// Asymmetric int8 parameters covering [min(lo, 0), max(hi, 0)] (zero is
// always exactly representable). kInvalidArgument if lo > hi or either is
// not finite.
absl::StatusOr<ActivationQuant> ChooseActivationQuant(float lo, float hi);

// clamp(round_half_even(x / scale) + zero_point, -128, 127). x must be finite.
int8_t QuantizeValue(float x, ActivationQuant q);

inline float DequantizeValue(int8_t q, ActivationQuant p) {
  return p.scale * static_cast<float>(static_cast<int32_t>(q) - p.zero_point);
}

}  // namespace fedge

#endif  // FEDGE_INFERENCE_QUANTIZATION_H_
