// File: coordinator/rounds_csv_file.h
//
// Keeps the `--rounds-csv` file in step with the round records without
// rewriting history: when the file already holds a prefix of the table
// (RoundsToCsv of all records, coordinator/round_report.h), only the
// missing rows are appended and synced; a resumed coordinator therefore
// continues the file of the run it resumes. Only when the file cannot be
// continued (a metric column appeared, so the header changes, or the file
// is not this run's) is it rewritten whole, atomically.
//
// Thread-safety: call from one thread per file (the driver thread).
#ifndef FEDGE_COORDINATOR_ROUNDS_CSV_FILE_H_
#define FEDGE_COORDINATOR_ROUNDS_CSV_FILE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proto/fedge.pb.h"

namespace fedge {

// Brings `path` up to date with `records` (every completed round, oldest
// first). Sets `*appended` (optional) to whether it appended rather than
// rewrote.
absl::Status UpdateRoundsCsv(const std::string& path, const std::vector<proto::RoundRecord>& records,
                             bool* appended = nullptr);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ROUNDS_CSV_FILE_H_
