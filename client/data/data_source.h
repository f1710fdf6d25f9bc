// File: client/data/data_source.h
//
// `DataSource`: where a device's examples come from, as seen by the device's
// data pipeline (client/device_pipeline.h). A source hands out raw labelled
// examples; checking, repairing and normalising them is the Preprocessor's
// job (preprocess.h), storing them the ExampleStore's. Sources are
// LibTorch-free and know nothing about models.
//
// Implementations:
//   idx_source.h    a fixed set of IDX images (a Fashion-MNIST shard or an
//                   index file): everything on the first Poll, then nothing;
//   csv_source.h    one CSV file of numeric features and a label column,
//                   read once, in bounded chunks;
//   spool_source.h  a directory where a producer drops CSV files (by atomic
//                   rename) while the device runs; each file is read once
//                   and then deleted.
//
// Untrusted input. CSV and spool files are validated row by row at this
// boundary (csv_reader.h): a bad row is counted, reported with its file and
// line through `DataSourceOptions::on_problem`, and skipped; it never stops
// the source. Errors returned by Poll are about the source itself (a
// missing file or directory), not about its contents.
#ifndef FEDGE_CLIENT_DATA_DATA_SOURCE_H_
#define FEDGE_CLIENT_DATA_DATA_SOURCE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/data/preprocess.h"

namespace fedge {

// One example as read from a source, owning its values: float features
// (CSV) or bytes (IDX pixels), never both.
struct SourceExample {
  std::vector<float> features;
  std::vector<uint8_t> bytes;
  std::optional<int64_t> label;

  // A view for Preprocessor::Process / DeviceDataStream::Ingest; borrows
  // this example, which must outlive the view.
  RawExample View(absl::Time arrival_time) const;
};

// Counters of one source since it was opened.
struct DataSourceStats {
  uint64_t examples = 0;        // examples handed out
  uint64_t bad_rows = 0;        // rows skipped (wrong columns, bad numbers, overlong, ...)
  uint64_t files_read = 0;      // files consumed completely
  uint64_t files_rejected = 0;  // files refused whole (too large, unreadable)
};

// Receives one message per skipped row or refused file, e.g.
// "spool/a.csv:17: expected 5 columns, got 4". Null logs a warning.
using ProblemSink = std::function<void(std::string_view message)>;

// Ownership: a source owns its file handles and buffers.
// Thread-safety: thread-compatible; the device's data pipeline owns it.
class DataSource {
 public:
  virtual ~DataSource() = default;

  // Reads what is available now, at most `max_examples` (>= 1), appending to
  // `*out`. Returns how many were appended; 0 means nothing new right now
  // (a spool may have more later; see exhausted()). Errors concern the
  // source itself (kNotFound, kPermissionDenied, ...), never bad rows.
  virtual absl::StatusOr<int64_t> Poll(int64_t max_examples, std::vector<SourceExample>* out) = 0;
  // True once a finite source has handed out everything; a spool never is.
  virtual bool exhausted() const = 0;
  // True for a source with a fixed end (a file, an image set): the device
  // reads it whole at once. False for one that keeps receiving (a spool).
  virtual bool finite() const = 0;
  // Features per example.
  virtual int64_t dim() const = 0;
  // Short description for logs, e.g. "csv /data/sensor.csv".
  virtual std::string description() const = 0;
  virtual const DataSourceStats& stats() const = 0;
};

// Reports a problem to `sink`, or logs it as a warning when the sink is null.
void ReportProblem(const ProblemSink& sink, std::string_view message);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DATA_DATA_SOURCE_H_
