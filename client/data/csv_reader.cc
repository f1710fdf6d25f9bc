#include "client/data/csv_reader.h"

#include <charconv>
#include <optional>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

constexpr int64_t kMaxFeatures = int64_t{1} << 20;
constexpr int64_t kMaxLineBytes = int64_t{64} << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A short, printable excerpt of an untrusted field for messages.
std::string Excerpt(std::string_view field) {
  std::string out;
  for (char c : field.substr(0, 24)) out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?');
  if (field.size() > 24) out += "...";
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AsAbsl(a), AsAbsl(b));
}

// nan / inf / infinity in any case, after the sign: missing or broken
// sensor values, left to the Preprocessor's NonFinitePolicy.
std::optional<float> NonFiniteText(std::string_view field) {
  bool negative = false;
  if (!field.empty() && (field.front() == '+' || field.front() == '-')) {
    negative = field.front() == '-';
    field.remove_prefix(1);
  }
  if (EqualsIgnoreCase(field, "nan")) return std::numeric_limits<float>::quiet_NaN();
  if (EqualsIgnoreCase(field, "inf") || EqualsIgnoreCase(field, "infinity")) {
    return negative ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  }
  return std::nullopt;
}

absl::Status ParseFeature(std::string_view field, int64_t column, double scale, float* out) {
  field = Trim(field);
  if (field.empty()) {
    *out = std::numeric_limits<float>::quiet_NaN();
    return absl::OkStatus();
  }
  if (std::optional<float> special = NonFiniteText(field)) {
    *out = *special;
    return absl::OkStatus();
  }
  std::string_view digits = field;
  if (digits.front() == '+') digits.remove_prefix(1);  // from_chars takes '-' only
  double value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value,
                                            std::chars_format::general);
  if (error == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(absl::StrCat("column ", column + 1, ": '", Excerpt(field), "' is out of range"));
  }
  if (error != std::errc() || end != digits.data() + digits.size()) {
    return absl::InvalidArgumentError(absl::StrCat("column ", column + 1, ": '", Excerpt(field), "' is not a number"));
  }
  const double scaled = value * scale;
  if (!(std::fabs(scaled) <= std::numeric_limits<float>::max())) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", column + 1, ": '", Excerpt(field), "' is beyond the float range"));
  }
  *out = static_cast<float>(scaled);
  return absl::OkStatus();
}

absl::Status ParseLabel(std::string_view field, int64_t column, int64_t num_classes, int64_t* out) {
  field = Trim(field);
  int64_t label = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), label);
  if (field.empty() || error != std::errc() || end != field.data() + field.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", column + 1, ": label '", Excerpt(field), "' is not an integer"));
  }
  if (label < 0 || label >= num_classes) {
    return absl::InvalidArgumentError(
        absl::StrCat("column ", column + 1, ": label ", label, " is outside [0, ", num_classes, ")"));
  }
  *out = label;
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateCsvFormat(const CsvFormat& f) {
  if (f.num_features < 1 || f.num_features > kMaxFeatures) {
    return absl::InvalidArgumentError(
        absl::StrCat("csv: num_features must be in [1, ", kMaxFeatures, "], got ", f.num_features));
  }
  if (f.label_column < -1 || f.label_column > f.num_features) {
    return absl::InvalidArgumentError(absl::StrCat("csv: label_column must be -1 (last) or in [0, ", f.num_features,
                                                   "] for ", f.num_features, " features, got ", f.label_column));
  }
  if (f.delimiter != ',' && f.delimiter != ';' && f.delimiter != '\t' && f.delimiter != ' ') {
    return absl::InvalidArgumentError("csv: the delimiter must be ',', ';', tab or space");
  }
  if (!(std::isfinite(f.feature_scale) && f.feature_scale > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("csv: feature_scale must be finite and > 0, got ", f.feature_scale));
  }
  if (f.num_classes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("csv: num_classes must be >= 1, got ", f.num_classes));
  }
  if (f.max_line_bytes < 16 || f.max_line_bytes > kMaxLineBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("csv: max_line_bytes must be in [16, ", kMaxLineBytes, "], got ", f.max_line_bytes));
  }
  return absl::OkStatus();
}

absl::Status ParseCsvRow(std::string_view line, const CsvFormat& format, SourceExample* out) {
  const int64_t columns = format.num_features + 1;
  const int64_t label_column = format.label_column < 0 ? format.num_features : format.label_column;
  out->bytes.clear();
  out->features.clear();
  out->features.reserve(static_cast<size_t>(format.num_features));
  out->label.reset();
  int64_t column = 0;
  int64_t label = 0;
  size_t begin = 0;
  while (true) {
    const size_t end = line.find(format.delimiter, begin);
    const std::string_view field = line.substr(begin, end == std::string_view::npos ? line.size() - begin : end - begin);
    if (column >= columns) {  // too many fields: counted below without parsing the rest
      ++column;
      break;
    }
    if (column == label_column) {
      FEDGE_RETURN_IF_ERROR(ParseLabel(field, column, format.num_classes, &label));
    } else {
      float value = 0;
      FEDGE_RETURN_IF_ERROR(ParseFeature(field, column, format.feature_scale, &value));
      out->features.push_back(value);
    }
    ++column;
    if (end == std::string_view::npos) break;
    begin = end + 1;
  }
  if (column != columns) {
    int64_t got = 1;
    for (char c : line) got += c == format.delimiter ? 1 : 0;
    return absl::InvalidArgumentError(absl::StrCat("expected ", columns, " columns (", format.num_features,
                                                   " features and a label), got ", got));
  }
  out->label = label;
  return absl::OkStatus();
}

CsvReader::CsvReader(std::istream* in, std::string name, const CsvFormat& format, ProblemSink sink,
                     DataSourceStats* stats)
    : in_(in),
      name_(std::move(name)),
      format_(format),
      sink_(std::move(sink)),
      stats_(stats),
      line_buffer_(static_cast<size_t>(format.max_line_bytes) + 1) {}

bool CsvReader::NextLine(std::string_view* line, bool* overlong) {
  *overlong = false;
  if (done_) return false;
  in_->getline(line_buffer_.data(), static_cast<std::streamsize>(line_buffer_.size()));
  const std::streamsize extracted = in_->gcount();
  if (in_->bad() || (in_->fail() && in_->eof() && extracted == 0)) {
    done_ = true;
    return false;
  }
  ++line_;
  if (in_->fail()) {  // longer than the buffer: skip the rest of the line unbuffered
    *overlong = true;
    in_->clear();
    in_->ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    if (in_->eof()) done_ = true;
    return true;
  }
  // gcount counts the newline when one was extracted (not at end of file).
  size_t length = static_cast<size_t>(extracted) - (in_->eof() ? 0 : 1);
  if (in_->eof()) done_ = true;
  if (length > 0 && line_buffer_[length - 1] == '\r') --length;
  *line = std::string_view(line_buffer_.data(), length);
  return true;
}

void CsvReader::Problem(std::string_view reason) {
  ++stats_->bad_rows;
  if (problems_reported_ < kMaxProblemsPerFile) {
    ReportProblem(sink_, absl::StrCat(name_, ":", line_, ": ", AsAbsl(reason)));
  } else if (problems_reported_ == kMaxProblemsPerFile) {
    ReportProblem(sink_, absl::StrCat(name_, ": more bad rows after line ", line_, " are counted, not shown"));
  }
  ++problems_reported_;
}

int64_t CsvReader::Read(int64_t max_examples, std::vector<SourceExample>* out) {
  int64_t added = 0;
  std::string_view line;
  bool overlong = false;
  while (added < max_examples && NextLine(&line, &overlong)) {
    if (overlong) {
      Problem(absl::StrCat("line longer than ", format_.max_line_bytes, " bytes"));
      continue;
    }
    if (format_.header && line_ == 1) continue;
    if (Trim(line).empty() || line.front() == '#') continue;
    SourceExample example;
    if (absl::Status parsed = ParseCsvRow(line, format_, &example); !parsed.ok()) {
      Problem(std::string(parsed.message()));
      continue;
    }
    out->push_back(std::move(example));
    ++added;
  }
  stats_->examples += static_cast<uint64_t>(added);
  return added;
}

}  // namespace fedge
