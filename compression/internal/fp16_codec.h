// File: compression/internal/fp16_codec.h
//
// `fp16`: m little-endian IEEE-754 binary16 values (2*m bytes), rounded to
// nearest-even. Magnitudes above 65504 (the largest finite half) saturate to
// +-65504 instead of becoming infinite. Parsing rejects the infinity and NaN
// encodings (exponent field 31).
#ifndef FEDGE_COMPRESSION_INTERNAL_FP16_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_FP16_CODEC_H_

#include <cstdint>
#include <memory>

#include "compression/internal/value_codec.h"

namespace fedge::compression_internal {

std::unique_ptr<ValueCodec> MakeFp16Codec();

// Round-to-nearest-even conversion, saturating at +-65504.
// REQUIRES: x is finite.
uint16_t FloatToHalf(float x);
// Exact conversion. REQUIRES: h is not an infinity or NaN encoding.
float HalfToFloat(uint16_t h);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_FP16_CODEC_H_
