#include "client/data/csv_source.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {

CsvSource::CsvSource(std::string path, const CsvFormat& format, ProblemSink sink)
    : path_(std::move(path)), format_(format), file_(path_, std::ios::binary) {
  reader_ = std::make_unique<CsvReader>(&file_, path_, format_, std::move(sink), &stats_);
}

absl::StatusOr<std::unique_ptr<CsvSource>> CsvSource::Open(const std::string& path, const CsvFormat& format,
                                                           ProblemSink sink) {
  FEDGE_RETURN_IF_ERROR(ValidateCsvFormat(format));
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such CSV file (data.paths)"));
  }
  auto source = std::unique_ptr<CsvSource>(new CsvSource(path, format, std::move(sink)));
  if (!source->file_.is_open()) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot be opened for reading"));
  return source;
}

absl::StatusOr<int64_t> CsvSource::Poll(int64_t max_examples, std::vector<SourceExample>* out) {
  if (max_examples < 1) return absl::InvalidArgumentError("Poll: max_examples must be >= 1");
  const bool was_done = reader_->done();
  const int64_t n = reader_->Read(max_examples, out);
  if (!was_done && reader_->done()) ++stats_.files_read;
  return n;
}

}  // namespace fedge
