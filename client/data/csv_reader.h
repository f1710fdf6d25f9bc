// File: client/data/csv_reader.h
//
// The boundary parser for CSV example files, which come from outside the
// device's control (sensor loggers, other processes). Every row is validated
// into a `SourceExample` or rejected with a reason; a rejected row is
// counted and skipped, never fatal:
//
//   * a line longer than `max_line_bytes` is skipped without being buffered
//     whole (memory stays bounded on a file without newlines);
//   * a row must have exactly num_features + 1 fields (features + label);
//   * a feature is a decimal number (optional sign, exponent) that fits a
//     float after scaling; an empty field and the texts nan / inf / infinity
//     (any case, optional sign) are accepted as non-finite values, which the
//     Preprocessor repairs or rejects (its NonFinitePolicy); anything else,
//     including hexadecimal and numbers beyond the float range, rejects the
//     row;
//   * the label is a decimal integer in [0, num_classes); nan or a fraction
//     rejects the row.
// Blank lines and lines starting with '#' are skipped without counting;
// a trailing '\r' (CRLF files) is ignored; with `header`, the first line of
// each file is skipped.
//
// Thread-safety: ParseCsvRow is a pure function; a CsvReader is used by one
// thread at a time.
#ifndef FEDGE_CLIENT_DATA_CSV_READER_H_
#define FEDGE_CLIENT_DATA_CSV_READER_H_

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/data/data_source.h"

namespace fedge {

struct CsvFormat {
  // Feature columns per row (the model's input width). >= 1, at most 2^20.
  int64_t num_features = 784;
  // Column of the label, 0-based; -1 = the last column. The other columns
  // are the features, in order.
  int64_t label_column = -1;
  // Field separator: ',', ';', '\t' or ' '.
  char delimiter = ',';
  // Skip the first line of each file.
  bool header = false;
  // Every feature is multiplied by this (e.g. 1/255 for 8-bit pixels).
  // Finite and > 0.
  double feature_scale = 1.0;
  // Labels must be integers in [0, num_classes). >= 1.
  int64_t num_classes = 10;
  // Longer lines are skipped as bad rows. At least 16, at most 64 MiB.
  int64_t max_line_bytes = 1 << 20;
};

// kInvalidArgument naming the field when `format` is out of range.
absl::Status ValidateCsvFormat(const CsvFormat& format);

// Parses one line (without its newline) into `*out` (features set, bytes
// cleared). kInvalidArgument with the reason, e.g. "expected 785 columns,
// got 3" or "column 4: 'abc' is not a number". REQUIRES: a valid format.
absl::Status ParseCsvRow(std::string_view line, const CsvFormat& format, SourceExample* out);

// Reads rows from a stream in bounded chunks. Bad rows are counted in
// `stats->bad_rows` and reported as "NAME:LINE: reason" to the sink (the
// first kMaxProblemsPerFile of each file; the rest are only counted).
// `in` and `stats` are borrowed and must outlive the reader.
class CsvReader {
 public:
  static constexpr int kMaxProblemsPerFile = 20;

  // REQUIRES: ValidateCsvFormat(format).ok().
  CsvReader(std::istream* in, std::string name, const CsvFormat& format, ProblemSink sink, DataSourceStats* stats);

  // Appends up to `max_examples` good rows to `*out` and returns how many.
  int64_t Read(int64_t max_examples, std::vector<SourceExample>* out);
  // True once the stream has been read to its end.
  bool done() const { return done_; }
  // Lines read so far (good, bad and skipped).
  int64_t lines() const { return line_; }

 private:
  // Reads the next line into line_buffer_; false at the end. Sets
  // *overlong when the line exceeded max_line_bytes (its rest is skipped).
  bool NextLine(std::string_view* line, bool* overlong);
  void Problem(std::string_view reason);

  std::istream* in_;
  std::string name_;
  CsvFormat format_;
  ProblemSink sink_;
  DataSourceStats* stats_;
  std::vector<char> line_buffer_;
  int64_t line_ = 0;
  int problems_reported_ = 0;
  bool done_ = false;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_CSV_READER_H_
