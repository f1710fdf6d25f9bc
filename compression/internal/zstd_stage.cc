#include "compression/internal/zstd_stage.h"

#include <zstd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace fedge::compression_internal {
namespace {

// ZSTD_MAGICNUMBER (0xFD2FB528) as it appears on the wire, little-endian.
constexpr char kStandardFrameMagic[4] = {'\x28', '\xb5', '\x2f', '\xfd'};

}  // namespace

absl::StatusOr<std::string> ZstdCompress(std::string_view raw, int level) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

absl::StatusOr<std::string> ZstdDecompressExact(std::string_view frames, size_t expected_size) {
  // ZstdCompress writes exactly one standard frame that declares its content
  // size. Anything else (skippable frames carrying padding, several frames,
  // trailing bytes, no declared size) is refused before any work, so the
  // payload can never exceed what ZstdBound allows for.
  if (frames.size() < 4 || std::memcmp(frames.data(), kStandardFrameMagic, 4) != 0) {
    return absl::InvalidArgumentError("zstd payload does not start with a standard zstd frame");
  }
  if (frames.size() > ZSTD_compressBound(expected_size)) {
    return absl::InvalidArgumentError(absl::StrCat("zstd payload of ", frames.size(), " bytes is larger than ",
                                                   ZSTD_compressBound(expected_size),
                                                   ", the most the encoder writes for ", expected_size, " bytes"));
  }
  const size_t frame_size = ZSTD_findFrameCompressedSize(frames.data(), frames.size());
  if (ZSTD_isError(frame_size) || frame_size != frames.size()) {
    return absl::InvalidArgumentError(absl::StrCat("zstd payload must be exactly one frame of ", frames.size(),
                                                   " bytes; found a frame of ",
                                                   ZSTD_isError(frame_size) ? 0 : frame_size,
                                                   " bytes (truncated, several frames or trailing data)"));
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(frames.data(), frames.size());
  if (declared != expected_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "zstd frame declares ",
        declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR ? std::string("no")
                                                                                    : absl::StrCat(declared),
        " decompressed bytes, but the update must be exactly ", expected_size));
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
