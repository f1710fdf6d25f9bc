// File: compression/internal/topk_codec.h
//
// `topk:F`: keeps the k = TopKCount(F, n) entries of largest magnitude. The
// section is
//   k indices, strictly increasing, each < n, bit-packed LSB first with
//   w = max(1, ceil(log2 n)) bits each into ceil(k·w / 8) bytes (padding
//   bits zero), then the k kept values encoded by the pipeline's value codec,
// and decodes to a vector that is zero except at the indices. k is not sent:
// both sides derive it from the spec. Parsing rejects out-of-range,
// duplicate or unsorted indices. Biased: encoders run it with error
// feedback.
#ifndef FEDGE_COMPRESSION_INTERNAL_TOPK_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_TOPK_CODEC_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "compression/internal/value_codec.h"
#include "core/update_view.h"

namespace fedge::compression_internal {

// Bytes EncodeTopK writes for k kept values.
size_t TopKEncodedSize(int64_t k, int64_t n, const ValueCodec& values);

// Writes the top-k section of `x` to out[0, TopKEncodedSize(k, x.size(), values)).
// Ties in magnitude go to the lower index, so encoding is deterministic.
// REQUIRES: 0 <= k <= x.size() <= kMaxUpdateElements, x finite.
void EncodeTopK(absl::Span<const float> x, int64_t k, const ValueCodec& values, absl::BitGenRef gen,
                char* out);

// Validates `bytes` as a top-k section of an n-element update. The view
// reads indices from `bytes` (which must outlive it) and owns the k decoded
// values. kInvalidArgument naming the problem.
absl::StatusOr<std::unique_ptr<UpdateView>> ParseTopK(std::string_view bytes, int64_t n, int64_t k,
                                                       const ValueCodec& values);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_TOPK_CODEC_H_
