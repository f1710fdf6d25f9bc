// File: compression/internal/fp32_codec.h
//
// `fp32`: the uncompressed baseline. A section of m values is m
// little-endian IEEE-754 binary32 floats (4*m bytes). Parsing rejects any
// non-finite value.
#ifndef FEDGE_COMPRESSION_INTERNAL_FP32_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_FP32_CODEC_H_

#include <memory>

#include "compression/internal/value_codec.h"

namespace fedge::compression_internal {

std::unique_ptr<ValueCodec> MakeFp32Codec();

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_FP32_CODEC_H_
