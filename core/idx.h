// File: core/idx.h
//
// Reader for the IDX format of (Fashion-)MNIST, optionally gzip-compressed,
// as installed by Debian's `dataset-fashion-mnist` package under
// /usr/share/datasets/fashion-mnist. Data files are untrusted input: magic
// numbers, dimensions and sizes are validated and every error names the file
// and what was wrong with it.
#ifndef FEDGE_CORE_IDX_H_
#define FEDGE_CORE_IDX_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fedge {

// An unsigned-byte IDX array (type code 0x08), the only type (Fashion-)MNIST uses.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Parses raw (already decompressed) IDX bytes. `source` names the input in
// error messages. kInvalidArgument for a wrong magic, unsupported type or a
// size mismatch (truncated or trailing bytes).
absl::StatusOr<IdxArray> ParseIdx(std::string_view bytes, std::string_view source);

// Bounds on what one IDX input may cost. The default fits the largest
// Fashion-MNIST file (47 MB of training images) with room to spare, and stops
// a small gzip bomb from expanding into gigabytes.
struct IdxLimits {
  uint64_t max_decompressed_bytes = 128 << 20;
};

// Decodes IDX bytes that are either one gzip member or plain IDX, then
// parses them (ParseIdx). kInvalidArgument naming `source` for a corrupt or
// truncated gzip stream, bytes after the gzip member, or a decompressed size
// above `limits.max_decompressed_bytes` (the error says so before expanding
// further).
absl::StatusOr<IdxArray> DecodeIdx(std::string_view bytes, std::string_view source, const IdxLimits& limits = {});

// Reads a file that is either gzip-compressed or plain IDX (DecodeIdx).
// kNotFound if it does not exist.
absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path, const IdxLimits& limits = {});

// A labelled image set: `images` is num_examples * rows * cols bytes.
struct ImageDataset {
  int64_t num_examples = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
};

inline constexpr char kDefaultFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// Loads "train" or "test" from `dir` (files `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`).
// Checks that there is at least one image, that images are 28x28, that image
// and label counts agree and that labels are in [0, 9].
// The images are inflated straight into a buffer of their final size
// (core/idx_stream.h), so the peak is the dataset itself.
absl::StatusOr<ImageDataset> LoadFashionMnist(const std::string& dir, std::string_view split);

// Picks examples of a split: called with the split's size, returns the
// indices to keep (in the order wanted; repeats allowed).
using ExampleChooser = std::function<absl::StatusOr<std::vector<int64_t>>(int64_t num_examples)>;

// Like LoadFashionMnist, but keeps only the examples `choose` picks, in its
// order: the images are streamed and the others dropped as they are
// inflated, so a device holding a 6,000-image shard never holds the 47 MB
// training split. Errors of LoadFashionMnist, those `choose` returns, and
// kInvalidArgument for an index outside the split.
absl::StatusOr<ImageDataset> LoadFashionMnistExamples(const std::string& dir, std::string_view split,
                                                      const ExampleChooser& choose);

}  // namespace fedge

#endif  // FEDGE_CORE_IDX_H_
