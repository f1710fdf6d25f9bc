#include "coordinator/rounds_csv_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "coordinator/round_report.h"
#include "core/file_util.h"

namespace fedge {

absl::Status UpdateRoundsCsv(const std::string& path, const std::vector<proto::RoundRecord>& records,
                             bool* appended) {
  if (appended != nullptr) *appended = false;
  const std::string table = RoundsToCsv(records);
  std::string existing;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    absl::StatusOr<std::string> read = ReadFile(path);
    if (!read.ok()) return read.status();
    existing = *std::move(read);
  }
  const bool continues = !existing.empty() && existing.size() <= table.size() && table.starts_with(existing);
  if (!continues) return WriteFileAtomically(path, table);
  if (existing.size() == table.size()) {
    if (appended != nullptr) *appended = true;
    return absl::OkStatus();
  }
  const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  std::string_view rest = std::string_view(table).substr(existing.size());
  absl::Status status = absl::OkStatus();
  while (!rest.empty()) {
    const ssize_t n = write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = absl::UnavailableError(absl::StrCat("cannot append to ", path, ": ", std::strerror(errno)));
      break;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if (status.ok() && fsync(fd) != 0) {
    status = absl::UnavailableError(absl::StrCat("cannot sync ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  if (status.ok() && appended != nullptr) *appended = true;
  return status;
}

}  // namespace fedge
