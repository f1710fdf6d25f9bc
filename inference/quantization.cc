#include "inference/quantization.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedge {

absl::StatusOr<QuantizedMultiplier> QuantizeMultiplier(double real) {
  if (!std::isfinite(real) || real < 0 || real >= kMaxRealMultiplier) {
    return absl::InvalidArgumentError(
        absl::StrCat("requantisation multiplier ", real, " is outside [0, ", kMaxRealMultiplier, ")"));
  }
  if (real == 0) return QuantizedMultiplier{};
  int exponent = 0;
  const double fraction = std::frexp(real, &exponent);  // real = fraction * 2^exponent, fraction in [0.5, 1)
  int64_t q = std::llround(fraction * static_cast<double>(int64_t{1} << 31));
  if (q == (int64_t{1} << 31)) {  // rounding carried into the next power of two
    q /= 2;
    ++exponent;
  }
  // The rounding right shift supports exponents down to -31 only.
  if (exponent < -31) return QuantizedMultiplier{};
  return QuantizedMultiplier{static_cast<int32_t>(q), exponent};
}

absl::StatusOr<PerChannelWeights> QuantizeWeightsPerChannel(absl::Span<const float> weights, int out_channels) {
  if (out_channels <= 0 || weights.empty() || weights.size() % static_cast<size_t>(out_channels) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot split ", weights.size(), " weights into ", out_channels,
                                                   " output channels"));
  }
  const size_t per_channel = weights.size() / static_cast<size_t>(out_channels);
  PerChannelWeights out;
  out.values.resize(weights.size());
  out.scales.resize(static_cast<size_t>(out_channels));
  for (size_t c = 0; c < out.scales.size(); ++c) {
    const absl::Span<const float> row = weights.subspan(c * per_channel, per_channel);
    float max_abs = 0;
    for (float w : row) {
      if (!std::isfinite(w)) return absl::InvalidArgumentError(absl::StrCat("weight of channel ", c, " is not finite"));
      max_abs = std::max(max_abs, std::fabs(w));
    }
    const float scale = max_abs > 0 ? max_abs / static_cast<float>(kWeightQuantMax) : 1.0f;
    out.scales[c] = scale;
    for (size_t i = 0; i < per_channel; ++i) {
      const float q = std::nearbyint(row[i] / scale);
      out.values[c * per_channel + i] =
          static_cast<int8_t>(std::clamp(q, -static_cast<float>(kWeightQuantMax), static_cast<float>(kWeightQuantMax)));
    }
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> QuantizeBias(absl::Span<const float> bias, float input_scale,
                                                  absl::Span<const float> weight_scales) {
  if (bias.size() != weight_scales.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bias has ", bias.size(), " values for ", weight_scales.size(), " output channels"));
  }
  constexpr double kLimit = static_cast<double>(int64_t{1} << 30);
  std::vector<int32_t> out(bias.size());
  for (size_t c = 0; c < bias.size(); ++c) {
    const double scale = static_cast<double>(input_scale) * weight_scales[c];
    if (!std::isfinite(bias[c]) || !(scale > 0) || !std::isfinite(scale)) {
      return absl::InvalidArgumentError(absl::StrCat("bias ", c, " or its scale is not finite and positive"));
    }
    out[c] = static_cast<int32_t>(std::clamp(std::nearbyint(bias[c] / scale), -kLimit, kLimit));
  }
  return out;
}

absl::StatusOr<ActivationQuant> ChooseActivationQuant(float lo, float hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
    return absl::InvalidArgumentError(absl::StrCat("invalid activation range [", lo, ", ", hi, "]"));
  }
  const double min = std::min(0.0, static_cast<double>(lo));
  const double max = std::max(0.0, static_cast<double>(hi));
  if (max - min < 1e-12) return ActivationQuant{1.0f, 0};  // constant zero tensor
  const double scale = (max - min) / (kInt8Max - kInt8Min);
  // Zero point nudged to an integer so that real 0 is exact (padding, ReLU).
  const double zero_point = std::clamp(std::nearbyint(kInt8Min - min / scale), double{kInt8Min}, double{kInt8Max});
  return ActivationQuant{static_cast<float>(scale), static_cast<int32_t>(zero_point)};
}

int8_t QuantizeValue(float x, ActivationQuant q) {
  const float scaled = std::nearbyint(x / q.scale) + static_cast<float>(q.zero_point);
  return static_cast<int8_t>(std::clamp(scaled, static_cast<float>(kInt8Min), static_cast<float>(kInt8Max)));
}

}  // namespace fedge
