// File: compression/internal/pipeline.h
//
// Composition of the lossy stages of a `CodecSpec` (optional top-k, then a
// value codec) into one "raw" section. The zstd stage, when present, wraps
// the raw section; callers (codec.cc, encoder.cc) handle it.
#ifndef FEDGE_COMPRESSION_INTERNAL_PIPELINE_H_
#define FEDGE_COMPRESSION_INTERNAL_PIPELINE_H_

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

// kInvalidArgument unless 0 <= n <= kMaxUpdateElements.
absl::Status ValidateElementCount(int64_t n);

// Exact size of the raw section for an n-element update.
size_t RawSectionSize(const CodecSpec& spec, int64_t n);

// Encodes `x` into the raw section. REQUIRES: x finite,
// x.size() <= kMaxUpdateElements.
std::string EncodeRaw(const CodecSpec& spec, absl::Span<const float> x, absl::BitGenRef gen);

// Validates `raw` as the raw section of an n-element update; the view may
// point into `raw`. kInvalidArgument naming the problem.
absl::StatusOr<std::unique_ptr<UpdateView>> ParseRaw(const CodecSpec& spec, std::string_view raw, int64_t n);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_PIPELINE_H_
