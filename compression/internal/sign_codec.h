// File: compression/internal/sign_codec.h
//
// `sign[:B]`: 1-bit sign compression with one scale per block of B values
// (B a multiple of 8, default 256). A section of m values is
//   nb = ceil(m / B) little-endian float32 scales, then
//   ceil(m / 8) bytes of sign bits: value i is bit (i % 8) of byte i / 8
//   (least significant bit first), 1 meaning negative,
// and decodes to -scale or +scale. Scale = mean |x| over the block, which
// minimises the block's squared error for a fixed sign pattern. Deterministic
// and biased: encoders run it with error feedback. Padding bits of the last
// byte must be zero.
#ifndef FEDGE_COMPRESSION_INTERNAL_SIGN_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_SIGN_CODEC_H_

#include <memory>

#include "compression/internal/value_codec.h"

namespace fedge::compression_internal {

// REQUIRES: block_size % 8 == 0, 8 <= block_size <= kMaxBlockSize.
std::unique_ptr<ValueCodec> MakeSignCodec(int block_size);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_SIGN_CODEC_H_
