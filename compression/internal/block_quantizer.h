// File: compression/internal/block_quantizer.h
//
// Pieces shared by the block-scaled codecs (int8, int4, sign): unbiased
// stochastic rounding to 2*levels+1 integer codes per block, and validation
// of the float32 scale array that opens each of their sections.
#ifndef FEDGE_COMPRESSION_INTERNAL_BLOCK_QUANTIZER_H_
#define FEDGE_COMPRESSION_INTERNAL_BLOCK_QUANTIZER_H_

#include <cstdint>
#include <string_view>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"

namespace fedge::compression_internal {

// Uniform floats in [0, 1) on a 2^-24 grid, two per 64-bit draw, so the
// type-erased generator is called once per two elements.
// Thread-compatible; borrows the generator, which must outlive it.
class UniformSource {
 public:
  explicit UniformSource(absl::BitGenRef gen) : gen_(gen) {}
  float Next() {
    if (!has_spare_) {
      bits_ = gen_();
      has_spare_ = true;
      return static_cast<float>(bits_ >> 40) * 0x1p-24f;
    }
    has_spare_ = false;
    return static_cast<float>((bits_ >> 8) & 0xffffff) * 0x1p-24f;
  }

 private:
  absl::BitGenRef gen_;
  uint64_t bits_ = 0;
  bool has_spare_ = false;
};

// Quantizes `x` to codes[i] in [-levels, levels] with scale = max|x| / levels
// and codes[i] = floor(x[i] / scale + u), u ~ U[0, 1): E[scale * codes[i]] =
// x[i] (up to the 2^-24 grid of u), and |x[i] - scale * codes[i]| < scale.
// Returns the scale (0 when the block is all zeros), never larger than
// MaxScale(max_abs_code), so the decoder's ValidateScales accepts every scale
// the encoder writes; only blocks with values near FLT_MAX hit that clamp,
// and their largest values are then rounded towards zero by one code.
// REQUIRES: x finite, 1 <= levels <= max_abs_code <= 128, codes has
// x.size() entries.
float QuantizeBlock(absl::Span<const float> x, int levels, float max_abs_code, UniformSource& uniform,
                    int8_t* codes);

// The largest scale s for which s * max_abs_code is a finite float.
float MaxScale(float max_abs_code);

// Checks the `num_blocks` little-endian float32 scales at `scales`: each must
// be finite, non-negative, and small enough that scale * max_abs_code is a
// finite float, so every decoded value is finite. kInvalidArgument naming
// `codec` and the block otherwise.
absl::Status ValidateScales(std::string_view codec, const char* scales, int64_t num_blocks,
                            float max_abs_code);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_BLOCK_QUANTIZER_H_
