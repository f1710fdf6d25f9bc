// outbox_fuzzer: one record file of the device's outbox (client/outbox.h) as
// the device reads it after a restart: ParseOutboxFile on the bytes, then
// Outbox::Open on a directory holding them as record 1 and Oldest(), which
// authenticates and unseals it.
//
// Input: the record file's contents, as they are (no framing). Seeds are
// sealed with the public fuzzing sealing key (FuzzSealingKey) for device
// kFuzzOutboxDevice, so mutations of the body reach the tag check and
// mutations of the header reach the parser.
//
// Invariants beyond "no crash, no sanitizer report":
//   - a parsed file is canonical: FormatOutboxHeader(header) is exactly the
//     header bytes, and header + sealed body is exactly the input;
//   - Oldest() returns a record only for a file that parses, with the
//     parsed header; otherwise the file is deleted and counted discarded;
//   - the outbox never reports more than the one file it was given.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/outbox.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_key.h"

namespace fedge::fuzz {
namespace {

const std::string& OutboxDir() {
  static const std::string* dir = [] {
    const std::string base =
        std::filesystem::exists("/dev/shm") ? std::string("/dev/shm") : std::filesystem::temp_directory_path().string();
    std::string d = absl::StrCat(base, "/fedge-outbox-fuzz-XXXXXX");
    FEDGE_FUZZ_CHECK(::mkdtemp(d.data()) != nullptr, "mkdtemp failed");
    static const std::string cleanup_dir = d;
    std::atexit([] { std::filesystem::remove_all(cleanup_dir); });
    return new std::string(d);
  }();
  return *dir;
}

void CheckParse(std::string_view bytes) {
  absl::StatusOr<OutboxFile> file = ParseOutboxFile(bytes);
  if (!file.ok()) {
    FEDGE_FUZZ_CHECK(absl::IsDataLoss(file.status()), "a bad record file must be kDataLoss");
    return;
  }
  FEDGE_FUZZ_CHECK(ValidOutboxTaskId(file->header.task_id), "parsed an invalid task id");
  FEDGE_FUZZ_CHECK(FormatOutboxHeader(file->header) == file->header_text, "header is not canonical");
  FEDGE_FUZZ_CHECK(file->header_text + std::string(file->sealed) == bytes, "header + body is not the input");
}

void CheckOpen(std::string_view bytes) {
  const std::string& dir = OutboxDir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  FEDGE_FUZZ_CHECK(WriteFileAtomically(dir + "/1.outbox", bytes).ok(), "cannot write the record file");
  absl::StatusOr<std::unique_ptr<Outbox>> outbox =
      Outbox::Open({.dir = dir, .max_records = 4, .max_bytes = 1 << 20}, kFuzzOutboxDevice, FuzzSealingKey());
  FEDGE_FUZZ_CHECK(outbox.ok(), "Open failed on a readable directory");
  FEDGE_FUZZ_CHECK((*outbox)->size() == 1, "the outbox must index exactly the one record");
  std::optional<StoredOutboxRecord> record = (*outbox)->Oldest();
  absl::StatusOr<OutboxFile> parsed = ParseOutboxFile(bytes);
  if (record.has_value()) {
    FEDGE_FUZZ_CHECK(parsed.ok(), "an unparsable file was unsealed");
    FEDGE_FUZZ_CHECK(record->record.header.task_id == parsed->header.task_id &&
                         record->record.header.round == parsed->header.round &&
                         record->record.header.model_version == parsed->header.model_version,
                     "the record's header is not the file's");
    FEDGE_FUZZ_CHECK((*outbox)->Remove(record->sequence).ok(), "Remove of the oldest record failed");
  } else {
    FEDGE_FUZZ_CHECK((*outbox)->stats().discarded == 1, "a refused record must be counted as discarded");
    FEDGE_FUZZ_CHECK(!std::filesystem::exists(dir + "/1.outbox"), "a refused record must be deleted");
  }
  FEDGE_FUZZ_CHECK((*outbox)->size() == 0, "the outbox must be empty afterwards");
}

}  // namespace
}  // namespace fedge::fuzz

// Every discarded record is logged; quiet unless FEDGE_FUZZ_VERBOSE is set.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("FEDGE_FUZZ_VERBOSE") == nullptr) fedge::SetMinLogLevel(fedge::LogLevel::kFatal);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fedge::fuzz::CheckParse(bytes);
  fedge::fuzz::CheckOpen(bytes);
  return 0;
}
