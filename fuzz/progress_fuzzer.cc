// progress_fuzzer: one slot file of the coordinator's round progress
// (coordinator/store/progress_file.h) as a restarted coordinator reads it:
// ParseProgressSlot on the bytes, then ProgressFile::Open on a directory
// holding them as progress.0 beside an empty progress.1, ReadNewest, and a
// further Write.
//
// Input: the slot file's contents, as they are (no framing). Seeds are
// records written by ProgressFile itself, so mutations reach the CRC checks
// and, where the CRCs are fixed up by chance, the list decoder.
//
// Invariants beyond "no crash, no sanitizer report":
//   - the parse is OK (a record, or nullopt for a torn or empty slot) or
//     kDataLoss, nothing else;
//   - Open fails exactly when the parse is kDataLoss, and then with kDataLoss;
//   - after Open, ReadNewest gives the parsed record (round, progress and
//     every acknowledged update);
//   - a Write after it keeps the record's list and adds to it when the round
//     is the same, and starts a new list otherwise.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "coordinator/store/progress_file.h"
#include "core/file_util.h"
#include "fuzz/fuzz_input.h"

namespace fedge::fuzz {
namespace {

const std::string& SlotDir() {
  static const std::string* dir = [] {
    const std::string base =
        std::filesystem::exists("/dev/shm") ? std::string("/dev/shm") : std::filesystem::temp_directory_path().string();
    std::string d = absl::StrCat(base, "/fedge-progress-fuzz-XXXXXX");
    FEDGE_FUZZ_CHECK(::mkdtemp(d.data()) != nullptr, "mkdtemp failed");
    static const std::string cleanup_dir = d;
    std::atexit([] { std::filesystem::remove_all(cleanup_dir); });
    return new std::string(d);
  }();
  return *dir;
}

bool SameRecord(const ProgressRecord& a, const ProgressRecord& b) {
  if (a.round != b.round || a.progress != b.progress || a.acked.size() != b.acked.size()) return false;
  for (size_t i = 0; i < a.acked.size(); ++i) {
    const AckedUpdate &x = a.acked[i], &y = b.acked[i];
    if (x.round != y.round || x.task_id != y.task_id || x.device_id != y.device_id || x.size != y.size) return false;
  }
  return true;
}

void Check(std::string_view bytes) {
  uint64_t seq = 0;
  absl::StatusOr<std::optional<ProgressRecord>> parsed = ParseProgressSlot(bytes, &seq);
  FEDGE_FUZZ_CHECK(parsed.ok() || absl::IsDataLoss(parsed.status()), "a bad slot must be kDataLoss");
  const std::string& dir = SlotDir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  FEDGE_FUZZ_CHECK(WriteFileAtomically(dir + "/progress.0", bytes).ok(), "cannot write the slot file");
  absl::StatusOr<std::unique_ptr<ProgressFile>> file = ProgressFile::Open(dir, {.sync = false});
  FEDGE_FUZZ_CHECK(file.ok() == parsed.ok(), "Open must fail exactly when the slot does not parse");
  if (!file.ok()) {
    FEDGE_FUZZ_CHECK(absl::IsDataLoss(file.status()), "Open of a bad slot must be kDataLoss");
    return;
  }
  absl::StatusOr<std::optional<ProgressRecord>> newest = (*file)->ReadNewest();
  FEDGE_FUZZ_CHECK(newest.ok() && newest->has_value() == parsed->has_value(), "ReadNewest is not the parse");
  if (*parsed) FEDGE_FUZZ_CHECK(SameRecord(**newest, **parsed), "ReadNewest is not the parsed record");
  const uint64_t round = *parsed ? (*parsed)->round : 1;
  AckedUpdate next;
  next.task_id = "fuzz-task";
  next.device_id = "fuzz-device";
  next.size = 7;
  FEDGE_FUZZ_CHECK((*file)->Write(round, "after", {next}).ok(), "a write after Open failed");
  newest = (*file)->ReadNewest();
  FEDGE_FUZZ_CHECK(newest.ok() && newest->has_value(), "the record written is not read back");
  const size_t kept = *parsed ? (*parsed)->acked.size() : 0;
  FEDGE_FUZZ_CHECK((*newest)->progress == "after" && (*newest)->acked.size() == kept + 1 &&
                       (*newest)->acked.back().device_id == "fuzz-device",
                   "the list after a write is not the old list plus the new update");
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::Check(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
