// fedge-spool-writer: the producer side of a fedge-device spool directory
// (client/data/spool_source.h), for the device drift end-to-end test. It
// writes Fashion-MNIST train images as CSV example files (784 pixel bytes,
// then the label), upright or rotated 90 degrees counter-clockwise, the way
// a producer must: each file is written under a hidden temporary name in
// the spool directory and then renamed to its final `*.csv` name.
//
//   fedge-spool-writer --data-dir DIR --spool SPOOL --name batch-0001
//                      --first 0 --count 250 [--rotate]
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "core/idx.h"
#include "core/status.h"

namespace fedge {
namespace {

struct Args {
  std::string data_dir = kDefaultFashionMnistDir;
  std::string spool;
  std::string name;
  int64_t first = 0;
  int64_t count = 100;
  bool rotate = false;
};

// Pixel (r, c) of image `i`, after the optional 90 degree rotation.
uint8_t Pixel(const ImageDataset& data, int64_t i, int64_t r, int64_t c, bool rotate) {
  const int64_t side = data.cols;
  const int64_t row = rotate ? c : r;
  const int64_t col = rotate ? side - 1 - r : c;
  return data.images[static_cast<size_t>(i * data.rows * data.cols + row * side + col)];
}

absl::Status Write(const Args& a) {
  FEDGE_ASSIGN_OR_RETURN(ImageDataset data, LoadFashionMnist(a.data_dir, "train"));
  if (a.first < 0 || a.count < 1 || a.first + a.count > data.num_examples) {
    return absl::InvalidArgumentError(
        absl::StrCat("images [", a.first, ", ", a.first + a.count, ") are not all in the train split"));
  }
  const std::filesystem::path dir(a.spool);
  const std::filesystem::path temporary = dir / ("." + a.name + ".csv.tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    std::string line;
    for (int64_t i = a.first; i < a.first + a.count; ++i) {
      line.clear();
      for (int64_t r = 0; r < data.rows; ++r) {
        for (int64_t c = 0; c < data.cols; ++c) absl::StrAppend(&line, Pixel(data, i, r, c, a.rotate), ",");
      }
      absl::StrAppend(&line, data.labels[static_cast<size_t>(i)], "\n");
      out << line;
    }
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temporary.string()));
  }
  // Atomic on one file system: the device sees the whole file or none.
  std::error_code error;
  std::filesystem::rename(temporary, dir / (a.name + ".csv"), error);
  if (error) return absl::InternalError(absl::StrCat("rename into ", a.spool, ": ", error.message()));
  return absl::OkStatus();
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  fedge::Args args;
  CLI::App app("fedge-spool-writer: Fashion-MNIST images as a CSV spool file (tests)");
  app.add_option("--data-dir", args.data_dir, "Fashion-MNIST directory");
  app.add_option("--spool", args.spool, "spool directory")->required();
  app.add_option("--name", args.name, "file name without .csv")->required();
  app.add_option("--first", args.first, "first train image");
  app.add_option("--count", args.count, "images in the file");
  app.add_flag("--rotate", args.rotate, "rotate every image 90 degrees counter-clockwise");
  CLI11_PARSE(app, argc, argv);
  if (const absl::Status s = fedge::Write(args); !s.ok()) {
    std::cerr << "fedge-spool-writer: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
