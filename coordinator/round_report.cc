#include "coordinator/round_report.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace fedge {
namespace {

double DurationSeconds(const proto::RoundRecord& record) {
  if (record.closed_unix_micros() <= record.started_unix_micros()) return 0;
  return static_cast<double>(record.closed_unix_micros() - record.started_unix_micros()) * 1e-6;
}

std::string Bytes(uint64_t n) {
  if (n >= (uint64_t{1} << 30)) return absl::StrFormat("%.2f GB", static_cast<double>(n) / (1 << 30));
  if (n >= (uint64_t{1} << 20)) return absl::StrFormat("%.1f MB", static_cast<double>(n) / (1 << 20));
  if (n >= (uint64_t{1} << 10)) return absl::StrFormat("%.1f KB", static_cast<double>(n) / (1 << 10));
  return absl::StrCat(n, " B");
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

// Metrics print with enough digits to round-trip accuracy-like values
// without the noise of %.17g.
std::string Number(double v) { return absl::StrFormat("%.6g", v); }

}  // namespace

std::string FormatRoundRecord(const proto::RoundRecord& record) {
  std::string line = absl::StrCat("round ", record.round(), " ");
  if (record.succeeded()) {
    absl::StrAppend(&line, "succeeded");
  } else {
    absl::StrAppend(&line, "failed (", record.failure(), ")");
  }
  absl::StrAppend(&line, ": ", record.accepted(), " accepted of ", record.selected(), " selected, ",
                  record.rejected(), " rejected, ", record.late(), " late; model v", record.model_version());
  if (record.deployed_model_version() > 0) absl::StrAppend(&line, ", deployed v", record.deployed_model_version());
  // Sorted so the line reads the same every round.
  const std::map<std::string, double> metrics(record.metrics().begin(), record.metrics().end());
  if (!metrics.empty()) {
    absl::StrAppend(&line, ";");
    for (const auto& [name, value] : metrics) absl::StrAppend(&line, " ", name, "=", Number(value));
  }
  if (record.drift_alarms() > 0) absl::StrAppend(&line, "; ", record.drift_alarms(), " drift alarms");
  absl::StrAppend(&line, absl::StrFormat("; %.2f s", DurationSeconds(record)), "; down ", Bytes(record.bytes_down()),
                  ", up ", Bytes(record.bytes_up()));
  return line;
}

std::string RoundsToCsv(const std::vector<proto::RoundRecord>& rounds) {
  std::set<std::string> metric_names;
  for (const proto::RoundRecord& r : rounds) {
    for (const auto& [name, value] : r.metrics()) metric_names.insert(name);
  }
  std::vector<std::string> header = {"round",         "succeeded",          "failure",
                                     "selected",      "accepted",           "rejected",
                                     "late",          "model_version",      "started_unix_micros",
                                     "closed_unix_micros", "duration_s",    "bytes_down",
                                     "bytes_up",      "drift_alarms",       "deployed_model_version"};
  for (const std::string& name : metric_names) header.push_back(CsvField(name));
  std::string csv = absl::StrCat(absl::StrJoin(header, ","), "\n");
  for (const proto::RoundRecord& r : rounds) {
    std::vector<std::string> row = {
        absl::StrCat(r.round()),          r.succeeded() ? "1" : "0",
        CsvField(r.failure()),            absl::StrCat(r.selected()),
        absl::StrCat(r.accepted()),       absl::StrCat(r.rejected()),
        absl::StrCat(r.late()),           absl::StrCat(r.model_version()),
        absl::StrCat(r.started_unix_micros()), absl::StrCat(r.closed_unix_micros()),
        absl::StrFormat("%.3f", DurationSeconds(r)), absl::StrCat(r.bytes_down()),
        absl::StrCat(r.bytes_up()),       absl::StrCat(r.drift_alarms()),
        absl::StrCat(r.deployed_model_version())};
    for (const std::string& name : metric_names) {
      const auto it = r.metrics().find(name);
      row.push_back(it == r.metrics().end() ? "" : Number(it->second));
    }
    absl::StrAppend(&csv, absl::StrJoin(row, ","), "\n");
  }
  return csv;
}

}  // namespace fedge
