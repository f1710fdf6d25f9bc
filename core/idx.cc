#include "core/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_util.h"
#include "core/idx_stream.h"
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

// Inflates one gzip member, refusing to produce more than `max_bytes` and
// any bytes after the member (a second member or appended garbage).
absl::StatusOr<std::string> Gunzip(std::string_view bytes, std::string_view source, uint64_t max_bytes) {
  z_stream zs{};
  // 15 + 16: zlib window with gzip header decoding.
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return absl::InternalError("zlib: inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buffer[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK && out.size() <= max_bytes) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  const uInt trailing = zs.avail_in;
  inflateEnd(&zs);
  if (out.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": decompresses to more than ", max_bytes,
                                                   " bytes (IdxLimits.max_decompressed_bytes); not a data file "
                                                   "this loader accepts"));
  }
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(source), ": gzip stream is corrupt or truncated (zlib code ", rc, ")"));
  }
  if (trailing != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(source), ": ", trailing, " bytes after the gzip member (corrupt or concatenated file)"));
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

absl::StatusOr<IdxArray> DecodeIdx(std::string_view bytes, std::string_view source, const IdxLimits& limits) {
  if (!IsGzip(bytes)) {
    if (bytes.size() > limits.max_decompressed_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(AsAbsl(source), ": ", bytes.size(), " bytes is more than ",
                                                     limits.max_decompressed_bytes,
                                                     " (IdxLimits.max_decompressed_bytes)"));
    }
    return ParseIdx(bytes, source);
  }
  FEDGE_ASSIGN_OR_RETURN(const std::string raw, Gunzip(bytes, source, limits.max_decompressed_bytes));
  return ParseIdx(raw, source);
}

absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path, const IdxLimits& limits) {
  FEDGE_ASSIGN_OR_RETURN(const std::string raw, ReadFile(path));
  return DecodeIdx(raw, path, limits);
}

namespace {

constexpr int64_t kSide = 28;

// The example indices `choose` returns for `num_examples`, each checked.
absl::StatusOr<std::vector<int64_t>> ChosenIndices(const ExampleChooser& choose, int64_t num_examples,
                                                   const std::string& source) {
  FEDGE_ASSIGN_OR_RETURN(std::vector<int64_t> indices, choose(num_examples));
  for (int64_t i : indices) {
    if (i < 0 || i >= num_examples) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": example index ", i, " is outside the dataset of ", num_examples));
    }
  }
  return indices;
}

// Streams the images of `stream` (num_examples x 28 x 28), keeping those at
// `indices` in that order: rows are read in file order once, so duplicate
// and unordered indices cost nothing extra.
absl::Status ReadChosenImages(IdxStream& stream, absl::Span<const int64_t> indices, std::vector<uint8_t>& out) {
  const size_t pixels = static_cast<size_t>(kSide * kSide);
  out.resize(indices.size() * pixels);
  std::vector<std::pair<int64_t, size_t>> by_index;  // (example, output slot)
  by_index.reserve(indices.size());
  for (size_t slot = 0; slot < indices.size(); ++slot) by_index.emplace_back(indices[slot], slot);
  std::sort(by_index.begin(), by_index.end());
  int64_t position = 0;  // the next example the stream yields
  for (size_t k = 0; k < by_index.size(); ++k) {
    const auto [example, slot] = by_index[k];
    uint8_t* dest = out.data() + slot * pixels;
    if (k > 0 && by_index[k - 1].first == example) {
      std::memcpy(dest, out.data() + by_index[k - 1].second * pixels, pixels);
      continue;
    }
    FEDGE_RETURN_IF_ERROR(stream.Skip(static_cast<uint64_t>(example - position) * pixels));
    FEDGE_RETURN_IF_ERROR(stream.Read(absl::MakeSpan(dest, pixels)));
    position = example + 1;
  }
  FEDGE_RETURN_IF_ERROR(stream.Skip(stream.remaining()));
  return stream.Finish();
}

// LoadFashionMnist and LoadFashionMnistExamples; `choose` null: every example.
absl::StatusOr<ImageDataset> LoadSplit(const std::string& dir, std::string_view split, const ExampleChooser* choose) {
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
  auto images = IdxStream::Open(images_path);
  if (absl::IsNotFound(images.status())) {
    return absl::NotFoundError(absl::StrCat(images.status().message(),
                                            " (install Debian's dataset-fashion-mnist package: scripts/setup)"));
  }
  FEDGE_RETURN_IF_ERROR(images.status());
  IdxStream& image_stream = **images;
  const std::vector<int64_t>& dims = image_stream.dims();
  if (dims.size() != 3 || dims[0] < 1 || dims[1] != kSide || dims[2] != kSide) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, ": expected at least one 28x28 image, found dimensions ",
                                                   absl::StrJoin(dims, "x")));
  }
  FEDGE_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path));
  if (labels.dims.size() != 1) return absl::InvalidArgumentError(absl::StrCat(labels_path, ": expected rank-1 labels"));
  if (dims[0] != labels.dims[0]) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, " has ", dims[0], " images but ", labels_path,
                                                   " has ", labels.dims[0], " labels"));
  }
  for (uint8_t l : labels.data) {
    if (l > 9) return absl::InvalidArgumentError(absl::StrCat(labels_path, ": label ", int{l}, " outside 0..9"));
  }
  ImageDataset ds;
  ds.rows = kSide;
  ds.cols = kSide;
  if (choose == nullptr) {
    ds.num_examples = dims[0];
    ds.images.resize(image_stream.payload_bytes());
    FEDGE_RETURN_IF_ERROR(image_stream.Read(absl::MakeSpan(ds.images)));
    FEDGE_RETURN_IF_ERROR(image_stream.Finish());
    ds.labels = std::move(labels.data);
    return ds;
  }
  FEDGE_ASSIGN_OR_RETURN(const std::vector<int64_t> indices, ChosenIndices(*choose, dims[0], images_path));
  FEDGE_RETURN_IF_ERROR(ReadChosenImages(image_stream, indices, ds.images));
  ds.num_examples = static_cast<int64_t>(indices.size());
  ds.labels.reserve(indices.size());
  for (int64_t i : indices) ds.labels.push_back(labels.data[static_cast<size_t>(i)]);
  return ds;
}

}  // namespace

absl::StatusOr<ImageDataset> LoadFashionMnist(const std::string& dir, std::string_view split) {
  return LoadSplit(dir, split, nullptr);
}

absl::StatusOr<ImageDataset> LoadFashionMnistExamples(const std::string& dir, std::string_view split,
                                                      const ExampleChooser& choose) {
  return LoadSplit(dir, split, &choose);
}

}  // namespace fedge
