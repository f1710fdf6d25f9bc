#include "compression/internal/zstd_stage.h"

#include <zstd.h>

#include "absl/strings/str_cat.h"

namespace fedge::compression_internal {

absl::StatusOr<std::string> ZstdCompress(std::string_view raw, int level) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> ZstdDecompressExact(std::string_view frames, size_t expected_size) {
  const unsigned long long declared = ZSTD_getFrameContentSize(frames.data(), frames.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return absl::InvalidArgumentError("zstd payload does not start with a valid zstd frame");
  }
  // A single frame that declares a larger size is refused before any work;
  // multi-frame payloads are still bounded by the output buffer below.
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > expected_size) {
    return absl::InvalidArgumentError(absl::StrCat("zstd frame declares ", declared,
                                                   " decompressed bytes, but the update must be exactly ",
                                                   expected_size));
  }
  // One byte of slack distinguishes "exactly full" from "would overflow".
  std::string out(expected_size + 1, '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), frames.data(), frames.size());
  if (ZSTD_isError(n)) {
    return absl::InvalidArgumentError(absl::StrCat("zstd payload is corrupt or expands beyond the expected ",
                                                   expected_size, " bytes: ", ZSTD_getErrorName(n)));
  }
  if (n != expected_size) {
    return absl::InvalidArgumentError(absl::StrCat("zstd payload decompresses to ", n,
                                                   " bytes, but the update must be exactly ", expected_size));
  }
  out.resize(n);
  return out;
}

size_t ZstdBound(size_t raw_size) { return ZSTD_compressBound(raw_size); }

}  // namespace fedge::compression_internal
