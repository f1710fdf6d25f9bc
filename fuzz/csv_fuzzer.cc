// csv_fuzzer: the device's CSV example parser (client/data/csv_reader.h),
// the boundary of fedge-device's csv and spool data sources, and the
// preprocessing every parsed row then goes through
// (client/data/preprocess.h).
//
// Input: U8 num_features - 1 (1..8 features), U8 label column (mod
// num_features + 2; the top value means -1, the last), U8 delimiter
// (, ; tab space), U8 flags (bit 0: header), U8 max_line_bytes - 16
// (16..271), U8 num_classes - 1, then the file contents (Rest).
//
// Invariants beyond "no crash, no sanitizer report, no OOM":
//   - every example has exactly num_features features (no bytes) and a
//     label in [0, num_classes); finite features are within the float range;
//   - examples + bad rows <= lines read; nothing is lost or invented by
//     chunking: reading one row per call gives the same examples (bit for
//     bit) and the same bad-row count as reading everything at once;
//   - problems are reported at most kMaxProblemsPerFile + 1 times, each
//     naming the file;
//   - the Preprocessor accepts or rejects every example with a message,
//     and an accepted example is finite (repairs happen before storage).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/data/csv_reader.h"
#include "client/data/preprocess.h"
#include "fuzz/fuzz_input.h"

namespace fedge::fuzz {
namespace {

struct Parsed {
  std::vector<SourceExample> examples;
  DataSourceStats stats;
  int64_t lines = 0;
  int problems = 0;
};

Parsed ReadAll(std::string_view contents, const CsvFormat& format, int64_t chunk) {
  Parsed out;
  std::istringstream in{std::string(contents)};
  CsvReader reader(&in, "fuzz.csv", format,
                   [&out](std::string_view message) {
                     ++out.problems;
                     FEDGE_FUZZ_CHECK(message.substr(0, 8) == "fuzz.csv", std::string(message));
                   },
                   &out.stats);
  while (!reader.done()) reader.Read(chunk, &out.examples);
  out.lines = reader.lines();
  return out;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

void CheckPreprocessing(const std::vector<SourceExample>& examples, const CsvFormat& format) {
  PreprocessOptions options;
  options.dim = format.num_features;
  options.num_classes = format.num_classes;
  options.min_value = -1e6;
  options.max_value = 1e6;
  options.statistics = StatisticsMode::kPerFeature;
  absl::StatusOr<Preprocessor> preprocessor = Preprocessor::Create(options);
  FEDGE_FUZZ_CHECK(preprocessor.ok(), preprocessor.status().ToString());
  for (const SourceExample& e : examples) {
    absl::StatusOr<ProcessedExample> p = preprocessor->Process(e.View(absl::UnixEpoch()));
    if (!p.ok()) {
      FEDGE_FUZZ_CHECK(!p.status().message().empty(), "a rejection without a reason");
      continue;
    }
    for (float v : p->features) FEDGE_FUZZ_CHECK(std::isfinite(v), "a stored feature is not finite");
  }
}

void FuzzOne(FuzzInput& input) {
  CsvFormat format;
  format.num_features = 1 + input.U8() % 8;
  const int64_t label = input.U8() % (format.num_features + 2);
  format.label_column = label == format.num_features + 1 ? -1 : label;
  static constexpr char kDelimiters[] = {',', ';', '\t', ' '};
  format.delimiter = kDelimiters[input.U8() % 4];
  format.header = (input.U8() & 1) != 0;
  format.max_line_bytes = 16 + input.U8();
  format.num_classes = 1 + input.U8();
  FEDGE_FUZZ_CHECK(ValidateCsvFormat(format).ok(), "harness built an invalid format");
  const std::string_view contents = input.Rest();

  const Parsed whole = ReadAll(contents, format, std::numeric_limits<int64_t>::max());
  FEDGE_FUZZ_CHECK(static_cast<int64_t>(whole.examples.size() + whole.stats.bad_rows) <= whole.lines,
                   absl::StrCat(whole.examples.size(), " examples + ", whole.stats.bad_rows, " bad rows > ",
                                whole.lines, " lines"));
  FEDGE_FUZZ_CHECK(whole.stats.examples == whole.examples.size(), "examples miscounted");
  FEDGE_FUZZ_CHECK(whole.problems <= CsvReader::kMaxProblemsPerFile + 1,
                   absl::StrCat(whole.problems, " problem messages"));
  for (const SourceExample& e : whole.examples) {
    FEDGE_FUZZ_CHECK(e.bytes.empty() && static_cast<int64_t>(e.features.size()) == format.num_features,
                     absl::StrCat(e.features.size(), " features"));
    FEDGE_FUZZ_CHECK(e.label && *e.label >= 0 && *e.label < format.num_classes, "label out of range");
    for (float v : e.features) {
      FEDGE_FUZZ_CHECK(!std::isfinite(v) || std::fabs(v) <= std::numeric_limits<float>::max(), "feature range");
    }
  }

  const Parsed rows = ReadAll(contents, format, 1);
  FEDGE_FUZZ_CHECK(rows.examples.size() == whole.examples.size() && rows.stats.bad_rows == whole.stats.bad_rows,
                   "chunked reading differs from reading at once");
  for (size_t i = 0; i < rows.examples.size(); ++i) {
    FEDGE_FUZZ_CHECK(rows.examples[i].label == whole.examples[i].label, "label differs across chunkings");
    for (size_t f = 0; f < rows.examples[i].features.size(); ++f) {
      FEDGE_FUZZ_CHECK(SameBits(rows.examples[i].features[f], whole.examples[i].features[f]),
                       "feature differs across chunkings");
    }
  }
  CheckPreprocessing(whole.examples, format);
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput input(data, size);
  fedge::fuzz::FuzzOne(input);
  return 0;
}
