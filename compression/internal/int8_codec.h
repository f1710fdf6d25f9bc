// File: compression/internal/int8_codec.h
//
// `int8[:B]`: unbiased stochastic 8-bit quantization with one scale per block
// of B values (default 256). A section of m values is
//   nb = ceil(m / B) little-endian float32 scales, then
//   m int8 codes q[i] in [-127, 127],
// and decodes to scale[i / B] * q[i]. Scale = max|x| / 127 over the block.
// Parsing checks only the size and the scales (finite, >= 0, scale*128
// finite); every byte value is a valid code.
#ifndef FEDGE_COMPRESSION_INTERNAL_INT8_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_INT8_CODEC_H_

#include <memory>

#include "compression/internal/value_codec.h"

namespace fedge::compression_internal {

// REQUIRES: 1 <= block_size <= kMaxBlockSize.
std::unique_ptr<ValueCodec> MakeInt8Codec(int block_size);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_INT8_CODEC_H_
