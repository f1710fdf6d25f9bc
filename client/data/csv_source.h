// File: client/data/csv_source.h
//
// `CsvSource`: one CSV file of numeric features and a label column
// (csv_reader.h: format, validation, bad rows), read once from start to end
// in chunks of at most `max_examples` rows per Poll, so a large file never
// sits in memory whole. Exhausted at its end.
//
// Ownership: owns the open file. Thread-safety: thread-compatible.
#ifndef FEDGE_CLIENT_DATA_CSV_SOURCE_H_
#define FEDGE_CLIENT_DATA_CSV_SOURCE_H_

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/data/csv_reader.h"
#include "client/data/data_source.h"

namespace fedge {

class CsvSource final : public DataSource {
 public:
  // kInvalidArgument for a bad format, kNotFound when `path` does not
  // exist, kPermissionDenied when it cannot be read.
  static absl::StatusOr<std::unique_ptr<CsvSource>> Open(const std::string& path, const CsvFormat& format,
                                                         ProblemSink sink = nullptr);

  absl::StatusOr<int64_t> Poll(int64_t max_examples, std::vector<SourceExample>* out) override;
  bool exhausted() const override { return reader_->done(); }
  bool finite() const override { return true; }
  int64_t dim() const override { return format_.num_features; }
  std::string description() const override { return "csv " + path_; }
  const DataSourceStats& stats() const override { return stats_; }

 private:
  CsvSource(std::string path, const CsvFormat& format, ProblemSink sink);

  std::string path_;
  CsvFormat format_;
  std::ifstream file_;
  DataSourceStats stats_;
  std::unique_ptr<CsvReader> reader_;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_CSV_SOURCE_H_
