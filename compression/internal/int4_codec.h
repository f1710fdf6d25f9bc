// File: compression/internal/int4_codec.h
//
// `int4[:B]`: unbiased stochastic 4-bit quantization with one scale per block
// of B values (B even, default 256). A section of m values is
//   nb = ceil(m / B) little-endian float32 scales, then
//   ceil(m / 2) bytes of packed two's-complement nibbles: value 2j in the low
//   nibble of byte j, value 2j+1 in the high nibble,
// and decodes to scale[i / B] * q[i]. Scale = max|x| / 7; the encoder emits
// codes in [-7, 7]. When m is odd the unused high nibble must be zero.
#ifndef FEDGE_COMPRESSION_INTERNAL_INT4_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_INT4_CODEC_H_

#include <memory>

#include "compression/internal/value_codec.h"

namespace fedge::compression_internal {

// REQUIRES: block_size even, 2 <= block_size <= kMaxBlockSize.
std::unique_ptr<ValueCodec> MakeInt4Codec(int block_size);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_INT4_CODEC_H_
