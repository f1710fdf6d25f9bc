// File: client/data/spool_source.h
//
// `SpoolSource`: a directory that other processes drop CSV example files
// into while the device runs (the streaming case that drift detection
// needs). Each file is read once, oldest name first, and deleted when it has
// been read to its end.
//
// The producer's side of the contract (client/data/README.md, "Spool"):
//   * write the file under a name the device ignores — one starting with '.'
//     or not ending in `.csv` (e.g. `.batch-0007.csv.tmp`) — in the spool
//     directory itself (same file system), close it, then rename(2) it to
//     its final `*.csv` name. The rename is atomic, so the device never sees
//     a partial file;
//   * names are taken in byte order, so name files by a zero-padded
//     sequence number or a UTC timestamp to keep arrival order;
//   * rows follow the CSV format (csv_reader.h); bad rows are skipped and
//     reported as "file:line";
//   * files larger than `max_file_bytes` are refused whole (renamed to
//     `NAME.rejected`, never read).
// The device needs write access to the directory (to delete what it read).
// A file is deleted only after its last row was handed out, so a restart
// in the middle of a file reads that file again from its start.
//
// Only regular files are read: symbolic links and sub-directories are
// ignored.
//
// Ownership: owns the file being read. Thread-safety: thread-compatible.
#ifndef FEDGE_CLIENT_DATA_SPOOL_SOURCE_H_
#define FEDGE_CLIENT_DATA_SPOOL_SOURCE_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/data/csv_reader.h"
#include "client/data/data_source.h"

namespace fedge {

struct SpoolOptions {
  std::string dir = {};
  CsvFormat format = {};
  // Larger files are refused whole. >= 1.
  int64_t max_file_bytes = int64_t{64} << 20;
};

class SpoolSource final : public DataSource {
 public:
  // kInvalidArgument for bad options, kNotFound when `dir` is not a
  // directory.
  static absl::StatusOr<std::unique_ptr<SpoolSource>> Open(const SpoolOptions& options, ProblemSink sink = nullptr);

  // Reads from the current file, or the oldest waiting one. kNotFound when
  // the directory has gone, kPermissionDenied when a finished file cannot be
  // deleted (it would otherwise be read again).
  absl::StatusOr<int64_t> Poll(int64_t max_examples, std::vector<SourceExample>* out) override;
  bool exhausted() const override { return false; }
  bool finite() const override { return false; }
  int64_t dim() const override { return options_.format.num_features; }
  std::string description() const override { return "spool " + options_.dir; }
  const DataSourceStats& stats() const override { return stats_; }

 private:
  SpoolSource(const SpoolOptions& options, ProblemSink sink) : options_(options), sink_(std::move(sink)) {}
  // Opens the oldest acceptable file; false when there is none.
  absl::StatusOr<bool> OpenNext();
  // Deletes the current file once it has been read to its end.
  absl::Status FinishCurrent();

  SpoolOptions options_;
  ProblemSink sink_;
  DataSourceStats stats_;
  std::string current_path_;
  std::ifstream current_;
  std::unique_ptr<CsvReader> reader_;
};

// Whether the spool reads a file of this name: not hidden, ends in ".csv".
bool IsSpoolFileName(const std::string& name);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_SPOOL_SOURCE_H_
