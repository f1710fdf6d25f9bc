#include "core/idx.h"

#include <stdlib.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "core/file_util.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

// Big-endian IDX bytes: magic 0x0000<type><rank>, dims, then `data`.
std::string IdxBytes(const std::vector<uint32_t>& dims, const std::string& data, uint8_t type = 0x08) {
  std::string out = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  }
  return out + data;
}

std::string Bytes(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fedge_idx_test_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << tmpl;
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteGzip(const std::string& path, const std::string& contents) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, contents.data(), static_cast<unsigned>(contents.size())), static_cast<int>(contents.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

TEST(ParseIdxTest, ParsesUnsignedByteArray) {
  // 0x00000803: unsigned bytes, rank 3.
  const std::string data = Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  auto array = ParseIdx(IdxBytes({2, 2, 3}, data), "mem");
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dims, (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(array->data, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
}

TEST(ParseIdxTest, ReadsDimensionsBigEndian) {
  auto array = ParseIdx(IdxBytes({258}, std::string(258, 'x')), "mem");
  ASSERT_TRUE(array.ok()) << array.status();
  EXPECT_EQ(array->dims, (std::vector<int64_t>{258}));
}

TEST(ParseIdxTest, RejectsTruncatedData) {
  auto array = ParseIdx(IdxBytes({2, 3}, Bytes({1, 2, 3, 4, 5})), "short.idx");
  EXPECT_EQ(array.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(array.status().message(), "short.idx")) << array.status();
}

TEST(ParseIdxTest, RejectsTruncatedHeader) {
  const std::string bytes = IdxBytes({2, 3}, "").substr(0, 9);
  EXPECT_EQ(ParseIdx(bytes, "mem").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIdx("", "mem").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseIdxTest, RejectsTrailingBytes) {
  auto array = ParseIdx(IdxBytes({2}, Bytes({1, 2, 3})), "mem");
  EXPECT_EQ(array.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseIdxTest, RejectsWrongMagic) {
  std::string bytes = IdxBytes({1}, Bytes({0}));
  bytes[0] = 0x1f;
  auto array = ParseIdx(bytes, "mem");
  EXPECT_EQ(array.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(array.status().message(), "magic")) << array.status();
}

TEST(ParseIdxTest, RejectsUnsupportedTypeCode) {
  // 0x0D is IDX float32: valid IDX, but not a type fedge reads.
  auto array = ParseIdx(IdxBytes({1}, std::string(4, '\0'), 0x0D), "mem");
  EXPECT_EQ(array.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(array.status().message(), "type")) << array.status();
}

TEST(ParseIdxTest, RejectsUnsupportedRank) {
  EXPECT_EQ(ParseIdx(IdxBytes({}, "x"), "mem").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIdx(IdxBytes({1, 1, 1, 1, 1}, "x"), "mem").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseIdxTest, RejectsDimensionsWhoseProductOverflows) {
  // 2^31 * 2^31 * 4 = 2^64 wraps to 0 in 64-bit arithmetic: a header that
  // promises 2^64 bytes must not be accepted with an empty payload.
  auto array = ParseIdx(IdxBytes({1u << 31, 1u << 31, 4}, ""), "evil.idx");
  EXPECT_EQ(array.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReadIdxFileTest, ReadsGzipAndPlainFiles) {
  TempDir dir;
  const std::string bytes = IdxBytes({2, 2}, Bytes({9, 8, 7, 6}));
  const std::string gz = dir.path() + "/a.idx.gz";
  WriteGzip(gz, bytes);
  auto from_gz = ReadIdxFile(gz);
  ASSERT_TRUE(from_gz.ok()) << from_gz.status();
  EXPECT_EQ(from_gz->dims, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(from_gz->data, (std::vector<uint8_t>{9, 8, 7, 6}));

  const std::string plain = dir.path() + "/a.idx";
  ASSERT_TRUE(WriteFileAtomically(plain, bytes).ok());
  auto from_plain = ReadIdxFile(plain);
  ASSERT_TRUE(from_plain.ok()) << from_plain.status();
  EXPECT_EQ(from_plain->data, from_gz->data);
}

TEST(ReadIdxFileTest, RejectsTruncatedGzip) {
  TempDir dir;
  const std::string gz = dir.path() + "/a.idx.gz";
  WriteGzip(gz, IdxBytes({64}, std::string(64, 'z')));
  auto raw = ReadFile(gz);
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(WriteFileAtomically(gz, raw->substr(0, raw->size() / 2)).ok());
  EXPECT_EQ(ReadIdxFile(gz).status().code(), absl::StatusCode::kInvalidArgument);
}

// Regression: bytes after the gzip member were silently ignored.
TEST(ReadIdxFileTest, RejectsDataAfterTheGzipMember) {
  TempDir dir;
  const std::string path = dir.path() + "/a.gz";
  WriteGzip(path, IdxBytes({2}, "ab"));
  absl::StatusOr<std::string> gz = ReadFile(path);
  ASSERT_TRUE(gz.ok());
  for (const std::string& tail : {std::string("junk"), *gz}) {  // garbage, or a second member
    auto array = DecodeIdx(*gz + tail, "a.gz");
    EXPECT_EQ(array.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(array.status().message(), "after the gzip member")) << array.status();
  }
}

// Regression: a small gzip file could expand without limit (a 1 MB file took
// fedge-infer to 2.1 GB).
TEST(ReadIdxFileTest, BoundsTheDecompressedSize) {
  TempDir dir;
  const std::string path = dir.path() + "/bomb.gz";
  WriteGzip(path, IdxBytes({1u << 20}, std::string(1u << 20, '\0')));
  EXPECT_TRUE(ReadIdxFile(path).ok());
  auto limited = ReadIdxFile(path, {.max_decompressed_bytes = 1u << 16});
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(limited.status().message(), "max_decompressed_bytes")) << limited.status();
  auto plain = DecodeIdx(IdxBytes({100}, std::string(100, 'x')), "plain", {.max_decompressed_bytes = 50});
  EXPECT_EQ(plain.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DecodeIdxTest, ParsesGzipAndPlainContentsAlike) {
  TempDir dir;
  const std::string bytes = IdxBytes({3}, Bytes({4, 5, 6}));
  const std::string gz = dir.path() + "/a.idx.gz";
  WriteGzip(gz, bytes);
  auto compressed = ReadFile(gz);
  ASSERT_TRUE(compressed.ok());
  auto from_gz = DecodeIdx(*compressed, "mem.gz");
  auto from_plain = DecodeIdx(bytes, "mem");
  ASSERT_TRUE(from_gz.ok()) << from_gz.status();
  ASSERT_TRUE(from_plain.ok()) << from_plain.status();
  EXPECT_EQ(from_gz->data, (std::vector<uint8_t>{4, 5, 6}));
  EXPECT_EQ(from_plain->data, from_gz->data);
  auto truncated = DecodeIdx(compressed->substr(0, compressed->size() - 4), "cut.gz");
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(truncated.status().message().find("cut.gz"), absl::string_view::npos) << truncated.status();
}

TEST(ReadIdxFileTest, MissingFileIsNotFound) {
  TempDir dir;
  EXPECT_EQ(ReadIdxFile(dir.path() + "/nope.gz").status().code(), absl::StatusCode::kNotFound);
}

// Writes a consistent tiny split: `n` images of rows x cols and `labels`.
void WriteSplit(const std::string& dir, const std::string& prefix, uint32_t n, const std::vector<uint8_t>& labels,
                bool gzip, uint32_t rows = 28, uint32_t cols = 28) {
  std::string pixels;
  for (uint32_t i = 0; i < n * rows * cols; ++i) pixels.push_back(static_cast<char>(i));
  const std::string images = IdxBytes({n, rows, cols}, pixels);
  const std::string label_bytes = IdxBytes({static_cast<uint32_t>(labels.size())}, Bytes(labels));
  const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte";
  const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte";
  if (gzip) {
    WriteGzip(images_path + ".gz", images);
    WriteGzip(labels_path + ".gz", label_bytes);
  } else {
    ASSERT_TRUE(WriteFileAtomically(images_path, images).ok());
    ASSERT_TRUE(WriteFileAtomically(labels_path, label_bytes).ok());
  }
}

TEST(LoadFashionMnistTest, LoadsConsistentGzipSplit) {
  TempDir dir;
  WriteSplit(dir.path(), "t10k", 3, {0, 9, 4}, /*gzip=*/true);
  auto ds = LoadFashionMnist(dir.path(), "test");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_examples, 3);
  EXPECT_EQ(ds->rows, 28);
  EXPECT_EQ(ds->cols, 28);
  EXPECT_EQ(ds->images.size(), 3u * 784);
  EXPECT_EQ(ds->images[17], 17);
  EXPECT_EQ(ds->labels, (std::vector<uint8_t>{0, 9, 4}));
}

TEST(LoadFashionMnistTest, LoadsPlainTrainSplit) {
  TempDir dir;
  WriteSplit(dir.path(), "train", 2, {1, 2}, /*gzip=*/false);
  auto ds = LoadFashionMnist(dir.path(), "train");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_examples, 2);
  // The train files exist but not the test files.
  EXPECT_EQ(LoadFashionMnist(dir.path(), "test").status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadFashionMnistTest, RejectsMismatchedCounts) {
  TempDir dir;
  WriteSplit(dir.path(), "train", 3, {1, 2}, /*gzip=*/true);
  auto ds = LoadFashionMnist(dir.path(), "train");
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(ds.status().message(), "labels")) << ds.status();
}

TEST(LoadFashionMnistTest, RejectsLabelsAboveNine) {
  TempDir dir;
  WriteSplit(dir.path(), "train", 2, {3, 10}, /*gzip=*/true);
  auto ds = LoadFashionMnist(dir.path(), "train");
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(ds.status().message(), "10")) << ds.status();
}

// Regressions: the loader took 0-image and non-28x28 files for Fashion-MNIST.
TEST(LoadFashionMnistTest, RejectsEmptyAndWronglyShapedImages) {
  for (auto [n, rows, cols] : {std::tuple<uint32_t, uint32_t, uint32_t>{0, 28, 28}, {2, 2, 3}, {2, 28, 27}}) {
    TempDir dir;
    WriteSplit(dir.path(), "train", n, std::vector<uint8_t>(n, 1), /*gzip=*/true, rows, cols);
    auto ds = LoadFashionMnist(dir.path(), "train");
    EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument) << n << "x" << rows << "x" << cols;
    EXPECT_TRUE(absl::StrContains(ds.status().message(), "28x28")) << ds.status();
  }
}

// A chooser that picks `indices` whatever the split's size.
ExampleChooser Pick(std::vector<int64_t> indices) {
  return [indices](int64_t) -> absl::StatusOr<std::vector<int64_t>> { return indices; };
}

TEST(LoadFashionMnistExamplesTest, KeepsTheChosenExamplesInOrder) {
  for (bool gzip : {true, false}) {
    TempDir dir;
    WriteSplit(dir.path(), "train", 5, {0, 1, 2, 3, 4}, gzip);
    int64_t seen = 0;
    auto ds = LoadFashionMnistExamples(dir.path(), "train", [&](int64_t n) -> absl::StatusOr<std::vector<int64_t>> {
      seen = n;
      return std::vector<int64_t>{3, 0, 3, 4};
    });
    ASSERT_TRUE(ds.ok()) << ds.status();
    EXPECT_EQ(seen, 5);
    EXPECT_EQ(ds->num_examples, 4);
    EXPECT_EQ(ds->labels, (std::vector<uint8_t>{3, 0, 3, 4}));
    ASSERT_EQ(ds->images.size(), 4u * 784);
    // WriteSplit's pixel i is i mod 256: example e starts at (e * 784) mod 256.
    for (auto [slot, example] : {std::pair<int, int>{0, 3}, {1, 0}, {2, 3}, {3, 4}}) {
      EXPECT_EQ(ds->images[slot * 784 + 1], static_cast<uint8_t>(example * 784 + 1)) << gzip << " slot " << slot;
    }
  }
}

TEST(LoadFashionMnistExamplesTest, RejectsIndicesOutsideTheSplitAndPassesChooserErrors) {
  TempDir dir;
  WriteSplit(dir.path(), "train", 2, {1, 2}, /*gzip=*/true);
  auto outside = LoadFashionMnistExamples(dir.path(), "train", Pick({0, 2}));
  EXPECT_EQ(outside.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(outside.status().message(), "index 2 is outside")) << outside.status();
  auto failed = LoadFashionMnistExamples(dir.path(), "train", [](int64_t) -> absl::StatusOr<std::vector<int64_t>> {
    return absl::NotFoundError("no index file");
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kNotFound);
}

// The streamed images file is checked like ReadIdxFile checks a whole one.
TEST(LoadFashionMnistTest, RejectsTruncatedTrailingAndConcatenatedImageFiles) {
  const std::string pixels(2 * 784, '\x07');
  const std::string labels = IdxBytes({2}, Bytes({1, 2}));
  const std::string good = IdxBytes({2, 28, 28}, pixels);
  std::string gz_good;
  {
    TempDir tmp;
    WriteGzip(tmp.path() + "/x.gz", good);
    gz_good = *ReadFile(tmp.path() + "/x.gz");
  }
  struct Case {
    std::string name, file_suffix, contents, expected;
  };
  auto flip = [](std::string bytes, size_t at) {
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    return bytes;
  };
  const std::vector<Case> cases = {
      {"plain truncated", "", good.substr(0, good.size() - 1), "ends before"},
      {"plain trailing", "", good + "x", "bytes after"},
      {"gzip truncated", ".gz", gz_good.substr(0, gz_good.size() - 12), "truncated"},
      {"gzip concatenated", ".gz", gz_good + gz_good, "after the gzip member"},
      {"gzip trailer cut", ".gz", gz_good.substr(0, gz_good.size() - 3), "truncated"},
      {"gzip wrong checksum", ".gz", flip(gz_good, gz_good.size() - 8), "corrupt"},
      {"gzip wrong length", ".gz", flip(gz_good, gz_good.size() - 1), "corrupt"},
      {"gzip reserved flag", ".gz", std::string(gz_good).replace(3, 1, 1, '\x80'), "reserved flags"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    ASSERT_TRUE(WriteFileAtomically(dir.path() + "/train-images-idx3-ubyte" + c.file_suffix, c.contents).ok());
    ASSERT_TRUE(WriteFileAtomically(dir.path() + "/train-labels-idx1-ubyte", labels).ok());
    for (bool select : {false, true}) {
      auto ds = select ? LoadFashionMnistExamples(dir.path(), "train", Pick({0})) : LoadFashionMnist(dir.path(), "train");
      EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
      EXPECT_TRUE(absl::StrContains(ds.status().message(), c.expected)) << c.name << ": " << ds.status();
    }
  }
}

TEST(LoadFashionMnistTest, RejectsUnknownSplit) {
  TempDir dir;
  EXPECT_EQ(LoadFashionMnist(dir.path(), "validation").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoadFashionMnistTest, LoadsInstalledTestSplit) {
  if (!std::filesystem::exists(kDefaultFashionMnistDir)) {
    GTEST_SKIP() << kDefaultFashionMnistDir << " is absent (Debian package dataset-fashion-mnist)";
  }
  auto ds = LoadFashionMnist(kDefaultFashionMnistDir, "test");
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ(ds->num_examples, 10000);
  EXPECT_EQ(ds->rows, 28);
  EXPECT_EQ(ds->cols, 28);
  EXPECT_EQ(ds->images.size(), 10000u * 28 * 28);
  EXPECT_EQ(ds->labels.size(), 10000u);
  // The test split is balanced: 1,000 examples per class.
  std::vector<int> per_class(10, 0);
  for (uint8_t l : ds->labels) ++per_class[l];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 1000) << "class " << c;
}

}  // namespace
}  // namespace fedge
