// File: compression/codec_spec.h
//
// The typed form of an update-codec pipeline spec such as
// "topk:0.01>int8>zstd". A spec names up to three stages, applied left to
// right when encoding ("a>b": apply a, then b):
//
//   [topk:FRACTION >] VALUE [> zstd[:LEVEL]]
//
// where VALUE is a registered value stage (compression/value_stage_registry.h):
// fp32, fp16, int8[:BLOCK], int4[:BLOCK], sign[:BLOCK] are built in. The
// value stage may be omitted when another stage is present
// ("topk:0.1", "zstd"), in which case it is fp32. Stage names are
// case-sensitive; whitespace around stages is ignored. The bit layout of every
// stage is documented in compression/README.md.
//
// Specs arrive from config files and from the wire, so parsing validates
// everything and explains what to fix.
#ifndef FEDGE_COMPRESSION_CODEC_SPEC_H_
#define FEDGE_COMPRESSION_CODEC_SPEC_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedge {

// Largest update (in float elements) any codec accepts; top-k indices are
// 32-bit on the wire.
inline constexpr int64_t kMaxUpdateElements = (int64_t{1} << 31) - 1;

// Block size used by int8/int4/sign when the spec gives none.
inline constexpr int kDefaultBlockSize = 256;
inline constexpr int kMaxBlockSize = 1 << 16;
inline constexpr int kDefaultZstdLevel = 3;

namespace compression_internal {
class ValueCodec;  // compression/internal/value_codec.h
}

// The stage that turns (possibly sparsified) floats into bytes, as built by
// its registration (compression/value_stage_registry.h).
struct ValueStage {
  // The registered name, e.g. "int8".
  std::string name;
  // The parameter in canonical form ("256" for int8:256); empty for stages
  // without one.
  std::string param;
  // True when the stage is biased (sign), so an encoder must keep the
  // residual and feed it back into the next update.
  bool biased = false;
  // The stage's codec; immutable and shared by copies of the spec.
  std::shared_ptr<const compression_internal::ValueCodec> codec;
};

// A validated pipeline. Plain value type; copyable.
struct CodecSpec {
  // Fraction of elements kept by top-k sparsification, in (0, 1].
  std::optional<double> topk_fraction;
  // Never null after ParseCodecSpec (fp32 when the spec names no value stage).
  ValueStage value;
  // zstd level in [1, 19] when the lossless stage is present.
  std::optional<int> zstd_level;

  // True when a stage is biased (topk, sign), so an encoder must keep the
  // residual and feed it back into the next update.
  bool uses_error_feedback() const;

  // Canonical spelling with every parameter explicit, e.g.
  // "topk:0.01>int8:256>zstd:3". Parsing it gives back an equal spec.
  std::string ToString() const;
};

// Parses and validates `spec`. Returns kInvalidArgument naming the problem:
// empty spec or stage, unknown stage, missing/bad/out-of-range parameter,
// topk not first, zstd not last, or more than one value stage.
absl::StatusOr<CodecSpec> ParseCodecSpec(std::string_view spec);

// Number of elements top-k keeps out of `num_elements`:
// clamp(ceil(fraction * num_elements), 1, num_elements), and 0 when
// num_elements is 0. Encoder and decoder both use it, so k is never sent.
// REQUIRES: 0 < fraction <= 1, num_elements >= 0.
int64_t TopKCount(double fraction, int64_t num_elements);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_CODEC_SPEC_H_
