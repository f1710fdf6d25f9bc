#include "core/idx.h"

#include <zlib.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

uint32_t ReadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

absl::StatusOr<std::string> Gunzip(std::string_view bytes, const std::string& source) {
  z_stream zs{};
  // 15 + 16: zlib window with gzip header decoding.
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError("zlib: inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(source), ": gzip stream is corrupt or truncated (zlib code ", rc, ")"));
  }
  return out;
}

}  // namespace

absl::StatusOr<IdxArray> ParseIdx(std::string_view bytes, std::string_view source) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": not an IDX file (bad magic number)"));
  }
  if (p[2] != 0x08) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(source), ": unsupported IDX element type 0x", absl::Hex(p[2]), " (expected unsigned byte 0x08)"));
  }
  const int rank = p[3];
  if (rank < 1 || rank > 4) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": IDX rank ", rank, " not supported"));
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header) return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": truncated IDX header"));
  IdxArray array;
  const uint64_t available = bytes.size() - header;
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const uint32_t d = ReadBigEndian32(p + 4 + 4 * i);
    array.dims.push_back(d);
    // Saturate just above the payload size: a product that large cannot
    // match anyway, and multiplying on could wrap around 2^64 to a match.
    count = (d != 0 && count > available / d) ? available + 1 : count * d;
  }
  if (available != count) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": IDX header dimensions ", absl::StrJoin(array.dims, "x"),
                                                   " do not match the ", available,
                                                   " bytes of data present (truncated or corrupt file)"));
  }
  array.data.assign(p + header, p + bytes.size());
  return array;
}

absl::StatusOr<IdxArray> ParseIdxFileContents(std::string_view contents, std::string_view source) {
  if (!IsGzip(contents)) return ParseIdx(contents, source);
  FEDGE_ASSIGN_OR_RETURN(const std::string raw, Gunzip(contents, std::string(source)));
  return ParseIdx(raw, source);
}

absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path) {
  FEDGE_ASSIGN_OR_RETURN(const std::string contents, ReadFile(path));
  return ParseIdxFileContents(contents, path);
}

absl::StatusOr<ImageDataset> LoadFashionMnist(const std::string& dir, std::string_view split) {
  if (split != "train" && split != "test") {
    return absl::InvalidArgumentError(absl::StrCat("dataset split must be 'train' or 'test', got '", AsAbsl(split), "'"));
  }
  const std::string prefix = split == "train" ? "train" : "t10k";
  auto find = [&](const std::string& stem) {
    const std::string plain = absl::StrCat(dir, "/", prefix, stem);
    return std::filesystem::exists(plain + ".gz") ? plain + ".gz" : plain;
  };
  const std::string images_path = find("-images-idx3-ubyte");
  const std::string labels_path = find("-labels-idx1-ubyte");
  auto images = ReadIdxFile(images_path);
  if (absl::IsNotFound(images.status())) {
    return absl::NotFoundError(absl::StrCat(images.status().message(),
                                            " (install Debian's dataset-fashion-mnist package: scripts/setup)"));
  }
  FEDGE_RETURN_IF_ERROR(images.status());
  FEDGE_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path));
  if (images->dims.size() != 3) return absl::InvalidArgumentError(absl::StrCat(images_path, ": expected rank-3 images"));
  if (labels.dims.size() != 1) return absl::InvalidArgumentError(absl::StrCat(labels_path, ": expected rank-1 labels"));
  if (images->dims[0] != labels.dims[0]) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, " has ", images->dims[0], " images but ", labels_path,
                                                   " has ", labels.dims[0], " labels"));
  }
  for (uint8_t l : labels.data) {
    if (l > 9) return absl::InvalidArgumentError(absl::StrCat(labels_path, ": label ", int{l}, " outside 0..9"));
  }
  ImageDataset ds;
  ds.num_examples = images->dims[0];
  ds.rows = images->dims[1];
  ds.cols = images->dims[2];
  ds.images = std::move(images->data);
  ds.labels = std::move(labels.data);
  return ds;
}

}  // namespace fedge
