#include "client/data/spool_source.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace fs = std::filesystem;

bool IsSpoolFileName(const std::string& name) {
  return !name.empty() && name.front() != '.' && name.size() > 4 && absl::EndsWith(name, ".csv");
}

absl::StatusOr<std::unique_ptr<SpoolSource>> SpoolSource::Open(const SpoolOptions& options, ProblemSink sink) {
  FEDGE_RETURN_IF_ERROR(ValidateCsvFormat(options.format));
  if (options.max_file_bytes < 1) {
    return absl::InvalidArgumentError(absl::StrCat("spool: max_file_bytes must be >= 1, got ", options.max_file_bytes));
  }
  std::error_code error;
  if (!fs::is_directory(options.dir, error)) {
    return absl::NotFoundError(absl::StrCat(options.dir, ": the spool directory (data.paths) does not exist"));
  }
  return std::unique_ptr<SpoolSource>(new SpoolSource(options, std::move(sink)));
}

absl::StatusOr<bool> SpoolSource::OpenNext() {
  std::error_code error;
  std::vector<std::string> names;
  for (fs::directory_iterator it(options_.dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    // symlink_status: a link is never followed out of the spool.
    if (IsSpoolFileName(name) && fs::is_regular_file(it->symlink_status(error))) names.push_back(name);
  }
  if (error) return absl::NotFoundError(absl::StrCat(options_.dir, ": cannot list the spool: ", error.message()));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = (fs::path(options_.dir) / name).string();
    const uintmax_t size = fs::file_size(path, error);
    if (error) continue;  // removed since listing
    if (size > static_cast<uintmax_t>(options_.max_file_bytes)) {
      ++stats_.files_rejected;
      ReportProblem(sink_, absl::StrCat(path, ": ", size, " bytes is more than the spool's limit of ",
                                        options_.max_file_bytes, "; renamed to ", name, ".rejected"));
      fs::rename(path, path + ".rejected", error);
      if (error) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot set the file aside: ", error.message()));
      continue;
    }
    current_.close();
    current_.clear();
    current_.open(path, std::ios::binary);
    if (!current_.is_open()) {
      ++stats_.files_rejected;
      ReportProblem(sink_, absl::StrCat(path, ": cannot be opened for reading; renamed to ", name, ".rejected"));
      fs::rename(path, path + ".rejected", error);
      continue;
    }
    current_path_ = path;
    reader_ = std::make_unique<CsvReader>(&current_, path, options_.format, sink_, &stats_);
    return true;
  }
  return false;
}

absl::Status SpoolSource::FinishCurrent() {
  reader_.reset();
  current_.close();
  ++stats_.files_read;
  std::error_code error;
  fs::remove(current_path_, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat(current_path_, ": cannot delete the file after reading it (",
                                                    error.message(), "); the device needs write access to ",
                                                    options_.dir, " or it would read the file again"));
  }
  current_path_.clear();
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SpoolSource::Poll(int64_t max_examples, std::vector<SourceExample>* out) {
  if (max_examples < 1) return absl::InvalidArgumentError("Poll: max_examples must be >= 1");
  int64_t added = 0;
  while (added < max_examples) {
    if (reader_ == nullptr) {
      FEDGE_ASSIGN_OR_RETURN(const bool opened, OpenNext());
      if (!opened) break;
    }
    added += reader_->Read(max_examples - added, out);
    if (reader_->done()) FEDGE_RETURN_IF_ERROR(FinishCurrent());
  }
  return added;
}

}  // namespace fedge
