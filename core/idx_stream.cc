#include "core/idx_stream.h"

#include <zlib.h>

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

// zlib state and its input buffer, refilled from the file.
struct IdxStream::Inflater {
  z_stream zs{};
  std::vector<uint8_t> input = std::vector<uint8_t>(kChunkBytes);
  bool file_ended = false;
  bool stream_ended = false;  // inflate returned Z_STREAM_END
  ~Inflater() { inflateEnd(&zs); }
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
  const int first = std::fgetc(file);
  const int second = std::fgetc(file);
  const bool gzip = first == 0x1f && second == 0x8b;
  std::rewind(file);
  auto stream = std::unique_ptr<IdxStream>(new IdxStream(path, file, gzip));
  // 15 + 16: zlib window with gzip header decoding.
  if (gzip && inflateInit2(&stream->inflater_->zs, 15 + 16) != Z_OK) {
    return absl::InternalError("zlib: inflateInit2 failed");
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
  in.zs.next_out = out.data();
  in.zs.avail_out = static_cast<uInt>(out.size());
  while (in.zs.avail_out > 0) {
    if (in.zs.avail_in == 0 && !in.file_ended) {
      const size_t got = std::fread(in.input.data(), 1, in.input.size(), file_);
      in.file_ended = got < in.input.size();
      in.zs.next_in = in.input.data();
      in.zs.avail_in = static_cast<uInt>(got);
    }
    const int rc = inflate(&in.zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      in.stream_ended = true;
      if (in.zs.avail_out > 0) return truncated();
      break;
    }
    if (rc == Z_BUF_ERROR && in.zs.avail_in == 0 && in.file_ended) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": gzip stream is truncated"));
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": gzip stream is corrupt (zlib code ", rc, ")"));
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
  if (in.zs.avail_in != 0 || std::fgetc(file_) != EOF) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": bytes after the gzip member (corrupt or concatenated file)"));
  }
  return absl::OkStatus();
}

}  // namespace fedge
