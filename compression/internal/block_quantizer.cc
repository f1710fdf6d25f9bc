#include "compression/internal/block_quantizer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "compression/internal/bytes.h"
#include "core/strings.h"

namespace fedge::compression_internal {

float MaxScale(float max_abs_code) {
  float s = std::numeric_limits<float>::max() / max_abs_code;
  while (!std::isfinite(s * max_abs_code)) s = std::nextafter(s, 0.0f);
  return s;
}

float QuantizeBlock(absl::Span<const float> x, int levels, float max_abs_code, UniformSource& uniform,
                    int8_t* codes) {
  float max_abs = 0;
  for (float v : x) max_abs = std::max(max_abs, std::fabs(v));
  const float scale = std::min(max_abs / static_cast<float>(levels), MaxScale(max_abs_code));
  if (scale == 0) {
    // Also covers a subnormal max_abs whose scale underflows: dropping values
    // below 1e-43 is harmless and avoids dividing by zero.
    std::fill(codes, codes + x.size(), 0);
    return 0;
  }
  // Divide by the stored scale, not levels / max_abs, so the decoder's
  // scale * code is exactly what the rounding was unbiased for. Double keeps
  // 1 / scale finite for tiny scales.
  const double inv_scale = 1.0 / static_cast<double>(scale);
  const double hi = levels;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = static_cast<double>(x[i]) * inv_scale + uniform.Next();
    codes[i] = static_cast<int8_t>(std::clamp(std::floor(v), -hi, hi));
  }
  return scale;
}

absl::Status ValidateScales(std::string_view codec, const char* scales, int64_t num_blocks,
                            float max_abs_code) {
  for (int64_t b = 0; b < num_blocks; ++b) {
    const float scale = Load<float>(scales + 4 * b);
    if (!std::isfinite(scale) || scale < 0 || !std::isfinite(scale * max_abs_code)) {
      return absl::InvalidArgumentError(absl::StrCat(AsAbsl(codec), " payload: scale of block ", b,
                                                     " is ", scale,
                                                     "; scales must be finite, non-negative and at most ",
                                                     MaxScale(max_abs_code)));
    }
  }
  return absl::OkStatus();
}

}  // namespace fedge::compression_internal
