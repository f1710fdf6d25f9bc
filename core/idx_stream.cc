#include "core/idx_stream.h"

#if FEDGE_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr size_t kChunkBytes = 1 << 16;

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

// One gzip member inflated from a file chunk by chunk. With isa-l (Debian's
// libisal, found at configure time) rather than zlib: every device and the
// simulator inflate the 26 MB Fashion-MNIST training images at start-up,
// which isa-l does in about a third of zlib's time.
struct IdxStream::Inflater {
  enum class Step { kProgress, kEnded, kCorrupt };
  std::vector<uint8_t> input = std::vector<uint8_t>(kChunkBytes);
  bool file_ended = false;
  bool stream_ended = false;
  int code = 0;  // the library's error code after kCorrupt
#if FEDGE_HAVE_ISAL
  inflate_state state;
  Inflater() {
    isal_inflate_init(&state);
    state.crc_flag = ISAL_GZIP;  // parse the header, verify the CRC and length
  }
  uint32_t avail_in() const { return state.avail_in; }
  void SetInput(uint8_t* data, uint32_t size) {
    state.next_in = data;
    state.avail_in = size;
  }
  void SetOutput(absl::Span<uint8_t> out) {
    state.next_out = out.data();
    state.avail_out = static_cast<uint32_t>(out.size());
  }
  uint32_t avail_out() const { return state.avail_out; }
  Step Inflate() {
    code = isal_inflate(&state);
    if (code != ISAL_DECOMP_OK) return Step::kCorrupt;
    return state.block_state == ISAL_BLOCK_FINISH ? Step::kEnded : Step::kProgress;
  }
#else
  z_stream zs{};
  Inflater() { inflateInit2(&zs, 15 + 16); }  // 15 + 16: zlib window with gzip header decoding
  ~Inflater() { inflateEnd(&zs); }
  uint32_t avail_in() const { return zs.avail_in; }
  void SetInput(uint8_t* data, uint32_t size) {
    zs.next_in = data;
    zs.avail_in = size;
  }
  void SetOutput(absl::Span<uint8_t> out) {
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
  }
  uint32_t avail_out() const { return zs.avail_out; }
  Step Inflate() {
    code = inflate(&zs, Z_NO_FLUSH);
    if (code == Z_STREAM_END) return Step::kEnded;
    return code == Z_OK || code == Z_BUF_ERROR ? Step::kProgress : Step::kCorrupt;
  }
#endif
};

IdxStream::IdxStream(std::string path, std::FILE* file, bool gzip) : path_(std::move(path)), file_(file) {
  if (gzip) inflater_ = std::make_unique<Inflater>();
}

IdxStream::~IdxStream() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<std::unique_ptr<IdxStream>> IdxStream::Open(const std::string& path, const IdxLimits& limits) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  uint8_t lead[4] = {};
  const size_t got = std::fread(lead, 1, sizeof(lead), file);
  const bool gzip = got >= 2 && lead[0] == 0x1f && lead[1] == 0x8b;
  std::rewind(file);
  auto stream = std::unique_ptr<IdxStream>(new IdxStream(path, file, gzip));
  // RFC 1952 makes a decoder refuse reserved flag bits; zlib does, isa-l
  // does not, so the check is here for both.
  if (gzip && got == sizeof(lead) && (lead[2] != 8 || (lead[3] & 0xe0) != 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": gzip header with an unknown method or reserved flags (corrupt file)"));
  }
  FEDGE_RETURN_IF_ERROR(stream->ReadHeader(limits));
  return stream;
}

absl::Status IdxStream::ReadHeader(const IdxLimits& limits) {
  uint8_t magic[4];
  if (absl::Status read = ReadRaw(absl::MakeSpan(magic)); !read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": not an IDX file (bad magic number)"));
  }
  if (magic[0] != 0 || magic[1] != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": not an IDX file (bad magic number)"));
  }
  if (magic[2] != 0x08) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": unsupported IDX element type 0x", absl::Hex(magic[2]),
                                                   " (expected unsigned byte 0x08)"));
  }
  const int rank = magic[3];
  if (rank < 1 || rank > 4) return absl::InvalidArgumentError(absl::StrCat(path_, ": IDX rank ", rank, " not supported"));
  uint8_t raw_dims[16];
  if (!ReadRaw(absl::MakeSpan(raw_dims, 4 * static_cast<size_t>(rank))).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": truncated IDX header"));
  }
  const uint64_t header = 4 + 4 * static_cast<uint64_t>(rank);
  const uint64_t budget = limits.max_decompressed_bytes > header ? limits.max_decompressed_bytes - header : 0;
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const uint32_t d = ReadBigEndian32(raw_dims + 4 * i);
    dims_.push_back(d);
    // Saturate above the budget: multiplying on could wrap around 2^64.
    count = (d != 0 && count > budget / d) ? budget + 1 : count * d;
  }
  if (count > budget) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": IDX header dimensions ", absl::StrJoin(dims_, "x"),
                                                   " declare more than ", limits.max_decompressed_bytes,
                                                   " bytes (IdxLimits.max_decompressed_bytes); not a data file "
                                                   "this loader accepts"));
  }
  payload_bytes_ = count;
  return absl::OkStatus();
}

absl::Status IdxStream::ReadRaw(absl::Span<uint8_t> out) {
  if (out.empty()) return absl::OkStatus();
  const auto truncated = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": the file ends before the ", payload_bytes_,
                     " bytes of data its IDX header declares (truncated or corrupt file)"));
  };
  if (inflater_ == nullptr) {
    if (std::fread(out.data(), 1, out.size(), file_) != out.size()) return truncated();
    return absl::OkStatus();
  }
  Inflater& in = *inflater_;
  if (in.stream_ended) return truncated();
  in.SetOutput(out);
  while (in.avail_out() > 0) {
    if (in.avail_in() == 0 && !in.file_ended) {
      const size_t got = std::fread(in.input.data(), 1, in.input.size(), file_);
      in.file_ended = got < in.input.size();
      in.SetInput(in.input.data(), static_cast<uint32_t>(got));
    }
    const bool starved = in.avail_in() == 0 && in.file_ended;
    const uint32_t before = in.avail_out();
    switch (in.Inflate()) {
      case Inflater::Step::kEnded:
        in.stream_ended = true;
        if (in.avail_out() > 0) return truncated();
        return absl::OkStatus();
      case Inflater::Step::kCorrupt:
        return absl::InvalidArgumentError(absl::StrCat(path_, ": gzip stream is corrupt (code ", in.code, ")"));
      case Inflater::Step::kProgress:
        if (starved && in.avail_out() == before) {
          return absl::InvalidArgumentError(absl::StrCat(path_, ": gzip stream is truncated"));
        }
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status IdxStream::Read(absl::Span<uint8_t> out) {
  if (out.size() > remaining()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": read of ", out.size(), " bytes past the end of the ",
                                                   payload_bytes_, " bytes of data"));
  }
  FEDGE_RETURN_IF_ERROR(ReadRaw(out));
  consumed_ += out.size();
  return absl::OkStatus();
}

absl::Status IdxStream::Skip(uint64_t n) {
  std::vector<uint8_t> scratch(static_cast<size_t>(std::min<uint64_t>(n, kChunkBytes)));
  while (n > 0) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, scratch.size()));
    FEDGE_RETURN_IF_ERROR(Read(absl::MakeSpan(scratch.data(), take)));
    n -= take;
  }
  return absl::OkStatus();
}

absl::Status IdxStream::Finish() {
  if (remaining() != 0) {
    return absl::InternalError(absl::StrCat(path_, ": Finish() with ", remaining(), " bytes of data unread"));
  }
  const auto trailing = [&] {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": bytes after the ", payload_bytes_,
                                                   " bytes of data its IDX header declares (corrupt file)"));
  };
  if (inflater_ == nullptr) return std::fgetc(file_) == EOF ? absl::OkStatus() : trailing();
  Inflater& in = *inflater_;
  if (!in.stream_ended) {
    // One more byte must not exist: the member has to end here.
    uint8_t extra;
    absl::Status more = ReadRaw(absl::MakeSpan(&extra, 1));
    if (more.ok()) return trailing();
    if (!in.stream_ended) return more;  // truncated or corrupt gzip
  }
  if (in.avail_in() != 0 || std::fgetc(file_) != EOF) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": bytes after the gzip member (corrupt or concatenated file)"));
  }
  return absl::OkStatus();
}

}  // namespace fedge
