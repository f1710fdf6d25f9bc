// File: compression/codec.h
//
// The coordinator side of update compression: the trust boundary where
// untrusted payload bytes become a validated `UpdateView`. Decoding is fused
// with accumulation: the returned view folds the update into an aggregation
// accumulator straight from the encoded bytes (e.g. for int8,
// acc[i] += weight * scale_b * q[i]) without materialising a float copy.
//
// A codec is named by a pipeline spec (compression/codec_spec.h), e.g.
// "fp32", "int8:512", "topk:0.01>int8>zstd". Every stage's bit layout is
// documented in compression/README.md. Devices encode with `UpdateEncoder`
// (compression/encoder.h).
//
// Example:
//   FEDGE_ASSIGN_OR_RETURN(auto view, DecodeUpdate(update.codec(), update.payload(), layout.num_elements()));
//   if (!std::isfinite(view->SquaredNorm())) ...   // always finite for a valid view
//   view->AccumulateInto(absl::MakeSpan(acc), weight);
//
// All functions are thread-safe.
#ifndef FEDGE_COMPRESSION_CODEC_H_
#define FEDGE_COMPRESSION_CODEC_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/update_view.h"

namespace fedge {

// Validates `payload` as an update encoded with pipeline `codec_spec` that decodes to
// `num_elements` floats, and returns a view over it (core/update_view.h) that can be
// accumulated without a full float copy. The view may point into `payload` (and into an
// internal buffer for zstd-decompressed bytes): `payload` must outlive it.
// kInvalidArgument for an unknown spec or a malformed payload (wrong size, bad or
// duplicate or out-of-range indices, truncated blocks, non-finite scales/values, zstd bomb
// beyond the expected size), naming what was wrong. Also kInvalidArgument when
// num_elements is negative or above kMaxUpdateElements.
//
// A returned view decodes only to finite values, so its SquaredNorm() is
// finite; its methods are const and safe to call concurrently.
absl::StatusOr<std::unique_ptr<UpdateView>> DecodeUpdate(std::string_view codec_spec,
                                                         std::string_view payload,
                                                         int64_t num_elements);

// OK when `spec` parses (see ParseCodecSpec); kInvalidArgument naming the
// problem otherwise. Use it to check configuration at start-up.
absl::Status ValidateCodecSpec(std::string_view spec);

// Largest payload `spec` can produce for `num_elements` floats: the exact
// size for pipelines without zstd, zstd's worst-case bound otherwise. Lets a
// transport refuse oversized uploads before buffering them.
// kInvalidArgument for a bad spec or element count.
absl::StatusOr<size_t> MaxEncodedSize(std::string_view spec, int64_t num_elements);

// 4 * num_elements / payload_bytes: how many times smaller the payload is
// than plain fp32. Returns 0 when payload_bytes is 0.
double CompressionRatio(size_t payload_bytes, int64_t num_elements);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_CODEC_H_
