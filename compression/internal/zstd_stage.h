// File: compression/internal/zstd_stage.h
//
// `zstd[:L]`: the lossless last stage. The payload is exactly one standard
// zstd frame (no skippable frames, nothing after it, at most ZstdBound bytes)
// that declares and decompresses to exactly the section the earlier stages
// produce. Because that size is a function of the spec and the element
// count, decompression writes into a buffer of exactly that size and fails on
// anything longer: a decompression bomb costs at most the expected size.
#ifndef FEDGE_COMPRESSION_INTERNAL_ZSTD_STAGE_H_
#define FEDGE_COMPRESSION_INTERNAL_ZSTD_STAGE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace fedge::compression_internal {

// Compresses `raw` into one frame at `level` (1..19). kInternal only if zstd
// itself fails.
absl::StatusOr<std::string> ZstdCompress(std::string_view raw, int level);

// Decompresses `frames`, which must be one frame as described above that
// expands to exactly `expected_size` bytes.
// kInvalidArgument for a corrupt frame, a declared or actual size other than
// expected_size, or trailing garbage.
absl::StatusOr<std::string> ZstdDecompressExact(std::string_view frames, size_t expected_size);

// Worst-case compressed size of `raw_size` bytes.
size_t ZstdBound(size_t raw_size);

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_ZSTD_STAGE_H_
