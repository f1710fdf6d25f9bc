// File: coordinator/round_report.h
//
// Human- and spreadsheet-readable forms of `proto::RoundRecord`: one log
// line per completed round, and a CSV table of all rounds.
//
// CSV format (RFC 4180, comma-separated, header row first): fixed columns
//   round,succeeded,failure,selected,accepted,rejected,late,model_version,
//   started_unix_micros,closed_unix_micros,duration_s,bytes_down,bytes_up,
//   drift_alarms,deployed_model_version
// followed by one column per metric name found in any record, sorted by
// name (e.g. deploy_int8_accuracy, test_accuracy, test_loss); a round
// without that metric leaves the cell empty. deployed_model_version is the
// INT8 model devices were offered when the record completed (0: none). Fields containing a comma, quote or newline are quoted.
//
// Thread-safety: free functions without shared state.
#ifndef FEDGE_COORDINATOR_ROUND_REPORT_H_
#define FEDGE_COORDINATOR_ROUND_REPORT_H_

#include <string>
#include <vector>

#include "proto/fedge.pb.h"

namespace fedge {

// e.g. "round 3 succeeded: 5 accepted of 7 selected, 0 rejected, 2 late;
// model v4, deployed v3; test_accuracy=0.8123 test_loss=0.5211; 12.30 s; down 4.1 MB,
// up 1.2 MB". A failed round names its failure instead of "succeeded".
std::string FormatRoundRecord(const proto::RoundRecord& record);

// The whole table, header included, newline-terminated rows.
std::string RoundsToCsv(const std::vector<proto::RoundRecord>& rounds);

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ROUND_REPORT_H_
