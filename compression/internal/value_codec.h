// File: compression/internal/value_codec.h
//
// The interface each value stage (fp32, fp16, int8, int4, sign, and any
// other registered in compression/value_stage_registry.h) implements:
// it encodes a dense float vector into a self-contained byte section whose
// size depends only on the element count, and validates such a section into
// an `UpdateView` that accumulates straight from the encoded bytes. Top-k
// reuses a value codec for its kept values; the pipeline (pipeline.h) glues
// the stages together.
//
// Thread-safety: implementations are immutable; safe to share.
#ifndef FEDGE_COMPRESSION_INTERNAL_VALUE_CODEC_H_
#define FEDGE_COMPRESSION_INTERNAL_VALUE_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "compression/codec_spec.h"
#include "core/update_view.h"

namespace fedge::compression_internal {

class ValueCodec {
 public:
  virtual ~ValueCodec() = default;

  // Exact number of bytes `Encode` writes for `m` values.
  virtual size_t EncodedSize(int64_t m) const = 0;

  // Writes the encoding of `values` to out[0, EncodedSize(values.size())).
  // `gen` drives stochastic rounding (unused by deterministic codecs).
  // REQUIRES: every value is finite; `out` has EncodedSize() bytes.
  virtual void Encode(absl::Span<const float> values, absl::BitGenRef gen, char* out) const = 0;

  // Validates `bytes` as `m` encoded values and returns a view that reads
  // from `bytes` (which must outlive it). kInvalidArgument, naming the codec
  // and the problem, for a wrong size or a non-finite / out-of-range field.
  virtual absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const = 0;
};

// The kInvalidArgument every codec returns for a section of the wrong size.
absl::Status SectionSizeError(std::string_view codec, size_t got, size_t expected, int64_t m);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_VALUE_CODEC_H_
