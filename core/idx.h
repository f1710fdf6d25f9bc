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

// Parses the contents of an IDX file, either gzip-compressed or plain:
// what ReadIdxFile does once it has read the file (and what the IDX fuzzer
// feeds). `source` names the input in error messages. kInvalidArgument for
// a corrupt gzip stream or as ParseIdx.
absl::StatusOr<IdxArray> ParseIdxFileContents(std::string_view contents, std::string_view source);

// Reads a file that is either gzip-compressed or plain IDX.
// kNotFound if it does not exist.
absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path);

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
// Checks that image and label counts agree and that labels are in [0, 9].
absl::StatusOr<ImageDataset> LoadFashionMnist(const std::string& dir, std::string_view split);

}  // namespace fedge

#endif  // FEDGE_CORE_IDX_H_
