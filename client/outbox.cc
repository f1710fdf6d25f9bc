#include "client/outbox.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

constexpr std::string_view kMagic = "fedge-outbox 1\n";
constexpr std::string_view kSuffix = ".outbox";
constexpr size_t kMaxTaskIdLength = 256;
// A header is a few short lines; anything longer is not ours.
constexpr size_t kMaxHeaderBytes = 1024;

// The value of line `key <value>\n` at the front of `rest`, which advances.
absl::StatusOr<std::string_view> TakeLine(std::string_view& rest, std::string_view key) {
  const size_t end = rest.find('\n');
  if (end == std::string_view::npos) return absl::DataLossError(absl::StrCat("outbox record: no '", AsAbsl(key), "' line"));
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end + 1);
  if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
    return absl::DataLossError(absl::StrCat("outbox record: expected a '", AsAbsl(key), "' line"));
  }
  return line.substr(key.size() + 1);
}

template <typename Int>
absl::StatusOr<Int> TakeNumber(std::string_view& rest, std::string_view key) {
  FEDGE_ASSIGN_OR_RETURN(std::string_view text, TakeLine(rest, key));
  Int value = 0;
  // SimpleAtoi also accepts "+1", "01" and spaces; the format is canonical.
  if (!absl::SimpleAtoi(AsAbsl(text), &value) || absl::StrCat(value) != AsAbsl(text)) {
    return absl::DataLossError(absl::StrCat("outbox record: bad ", AsAbsl(key), " '", AsAbsl(text.substr(0, 32)), "'"));
  }
  return value;
}

std::optional<uint64_t> SequenceOf(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  if (name.size() <= kSuffix.size() || name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
    return std::nullopt;
  }
  uint64_t sequence = 0;
  const std::string digits = name.substr(0, name.size() - kSuffix.size());
  if (!absl::SimpleAtoi(digits, &sequence) || sequence == 0 || absl::StrCat(sequence) != digits) return std::nullopt;
  return sequence;
}

}  // namespace

bool ValidOutboxTaskId(std::string_view task_id) {
  if (task_id.empty() || task_id.size() > kMaxTaskIdLength) return false;
  return std::all_of(task_id.begin(), task_id.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

std::string FormatOutboxHeader(const OutboxHeader& h) {
  return absl::StrCat(AsAbsl(kMagic), "round ", h.round, "\nmodel_version ", h.model_version, "\ntask ", h.task_id,
                      "\nsealed_at ", absl::ToUnixMicros(h.sealed_at), "\n\n");
}

absl::StatusOr<OutboxFile> ParseOutboxFile(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic) return absl::DataLossError("outbox record: not a fedge outbox record");
  const size_t blank = bytes.substr(0, kMaxHeaderBytes).find("\n\n");
  if (blank == std::string_view::npos) return absl::DataLossError("outbox record: header not terminated");
  OutboxFile file;
  std::string_view rest = bytes.substr(kMagic.size(), blank + 1 - kMagic.size());
  FEDGE_ASSIGN_OR_RETURN(file.header.round, TakeNumber<uint64_t>(rest, "round"));
  FEDGE_ASSIGN_OR_RETURN(file.header.model_version, TakeNumber<uint64_t>(rest, "model_version"));
  FEDGE_ASSIGN_OR_RETURN(std::string_view task, TakeLine(rest, "task"));
  if (!ValidOutboxTaskId(task)) return absl::DataLossError("outbox record: bad task id");
  file.header.task_id = std::string(task);
  FEDGE_ASSIGN_OR_RETURN(int64_t micros, TakeNumber<int64_t>(rest, "sealed_at"));
  file.header.sealed_at = absl::FromUnixMicros(micros);
  if (!rest.empty()) return absl::DataLossError("outbox record: unexpected header line");
  file.header_text = std::string(bytes.substr(0, blank + 2));
  file.sealed = bytes.substr(blank + 2);
  return file;
}

absl::Status ValidateOutboxOptions(const OutboxOptions& o) {
  if (o.dir.empty()) return absl::InvalidArgumentError("outbox: dir must not be empty");
  if (o.max_records < 1) return absl::InvalidArgumentError(absl::StrCat("outbox: max_records must be >= 1, got ", o.max_records));
  if (o.max_bytes < 1) return absl::InvalidArgumentError("outbox: max_bytes must be >= 1");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(OutboxOptions options, std::string device_id, SealingKey key) {
  FEDGE_RETURN_IF_ERROR(ValidateOutboxOptions(options));
  if (device_id.empty()) return absl::InvalidArgumentError("outbox: the device id must not be empty");
  std::unique_ptr<Outbox> outbox(new Outbox(std::move(options), std::move(device_id), std::move(key)));
  FEDGE_RETURN_IF_ERROR(outbox->Index());
  return outbox;
}

absl::Status Outbox::Index() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("outbox ", options_.dir, ": cannot create: ", ec.message()));
  ::chmod(options_.dir.c_str(), 0700);
  for (const auto& item : std::filesystem::directory_iterator(options_.dir, ec)) {
    const std::optional<uint64_t> sequence = SequenceOf(item.path());
    if (!sequence) {
      // A temporary file of an interrupted write is never a record.
      if (item.path().string().find(".outbox.tmp.") != std::string::npos) std::filesystem::remove(item.path(), ec);
      continue;
    }
    const uint64_t size = item.file_size(ec);
    if (ec) return absl::UnavailableError(absl::StrCat(item.path().string(), ": ", ec.message()));
    index_.push_back({*sequence, size});
    bytes_ += size;
    next_sequence_ = std::max(next_sequence_, *sequence + 1);
  }
  if (ec) return absl::UnavailableError(absl::StrCat("outbox ", options_.dir, ": cannot list: ", ec.message()));
  std::sort(index_.begin(), index_.end(), [](const Entry& a, const Entry& b) { return a.sequence < b.sequence; });
  return absl::OkStatus();
}

std::string Outbox::PathOf(uint64_t sequence) const {
  return absl::StrCat(options_.dir, "/", sequence, AsAbsl(kSuffix));
}

std::string Outbox::AssociatedData(std::string_view header_text) const {
  return absl::StrCat("fedge outbox/", device_id_, "\n", AsAbsl(header_text));
}

absl::StatusOr<std::vector<OutboxRecord>> Outbox::Put(OutboxRecord record) {
  if (!ValidOutboxTaskId(record.header.task_id)) {
    return absl::InvalidArgumentError("outbox: a task id must be 1-256 printable characters without spaces");
  }
  const std::string header = FormatOutboxHeader(record.header);
  FEDGE_ASSIGN_OR_RETURN(std::string sealed, Seal(key_, AssociatedData(header), record.update));
  const std::string contents = header + sealed;
  if (contents.size() > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("outbox: a ", contents.size(), "-byte record exceeds max_bytes (",
                                                     options_.max_bytes, ")"));
  }
  const uint64_t sequence = next_sequence_;
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(PathOf(sequence), contents));
  ++next_sequence_;
  index_.push_back({sequence, contents.size()});
  bytes_ += contents.size();
  ++stats_.stored;

  std::vector<OutboxRecord> evicted;
  while (index_.size() > static_cast<size_t>(options_.max_records) || bytes_ > options_.max_bytes) {
    const Entry oldest = index_.front();
    absl::StatusOr<OutboxRecord> old = Read(oldest.sequence);
    if (!old.ok()) {  // the bound holds even for a record we cannot read
      Discard(oldest, old.status());
      continue;
    }
    FEDGE_LOG(WARNING) << device_id_ << ": outbox full; evicting the update for task " << old->header.task_id
                       << " (round " << old->header.round << ")";
    std::filesystem::remove(PathOf(oldest.sequence));
    Erase(0);
    ++stats_.evicted;
    evicted.push_back(*std::move(old));
  }
  return evicted;
}

absl::StatusOr<OutboxRecord> Outbox::Read(uint64_t sequence) const {
  const std::string path = PathOf(sequence);
  FEDGE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  absl::StatusOr<OutboxFile> file = ParseOutboxFile(bytes);
  if (!file.ok()) return absl::DataLossError(absl::StrCat(path, ": ", file.status().message()));
  absl::StatusOr<std::string> update = Unseal(key_, AssociatedData(file->header_text), file->sealed);
  if (!update.ok()) return absl::DataLossError(absl::StrCat(path, ": ", update.status().message()));
  return OutboxRecord{std::move(file->header), *std::move(update)};
}

void Outbox::Discard(const Entry& entry, const absl::Status& why) {
  FEDGE_LOG(WARNING) << device_id_ << ": discarding outbox record: " << why;
  std::error_code ec;
  std::filesystem::remove(PathOf(entry.sequence), ec);
  const auto it = std::find_if(index_.begin(), index_.end(), [&](const Entry& e) { return e.sequence == entry.sequence; });
  if (it != index_.end()) Erase(static_cast<size_t>(it - index_.begin()));
  ++stats_.discarded;
}

void Outbox::Erase(size_t position) {
  bytes_ -= index_[position].size;
  index_.erase(index_.begin() + static_cast<std::ptrdiff_t>(position));
}

std::optional<StoredOutboxRecord> Outbox::Oldest() {
  while (!index_.empty()) {
    const Entry oldest = index_.front();
    absl::StatusOr<OutboxRecord> record = Read(oldest.sequence);
    if (record.ok()) return StoredOutboxRecord{oldest.sequence, *std::move(record)};
    if (!absl::IsDataLoss(record.status())) {  // e.g. an I/O error: keep it and try again later
      FEDGE_LOG(WARNING) << device_id_ << ": cannot read outbox record: " << record.status();
      return std::nullopt;
    }
    Discard(oldest, record.status());
  }
  return std::nullopt;
}

std::optional<StoredOutboxRecord> Outbox::Find(std::string_view task_id) {
  const std::vector<Entry> entries = index_;  // Discard edits index_
  for (const Entry& entry : entries) {
    absl::StatusOr<OutboxRecord> record = Read(entry.sequence);
    if (!record.ok()) {
      if (absl::IsDataLoss(record.status())) Discard(entry, record.status());
      continue;
    }
    if (record->header.task_id == task_id) return StoredOutboxRecord{entry.sequence, *std::move(record)};
  }
  return std::nullopt;
}

absl::Status Outbox::Remove(uint64_t sequence) {
  const auto it = std::find_if(index_.begin(), index_.end(), [&](const Entry& e) { return e.sequence == sequence; });
  if (it == index_.end()) return absl::NotFoundError(absl::StrCat("outbox: no record ", sequence));
  if (std::remove(PathOf(sequence).c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(absl::StrCat(PathOf(sequence), ": cannot remove: ", std::strerror(errno)));
  }
  Erase(static_cast<size_t>(it - index_.begin()));
  ++stats_.removed;
  return absl::OkStatus();
}

}  // namespace fedge
