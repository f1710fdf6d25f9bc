// File: client/outbox.h
//
// The device's outbox: updates that could not be uploaded (the link or the
// coordinator was down) are kept sealed on disk and sent when the link
// returns, so a device keeps training offline and loses nothing it
// computed. client/device.h decides what goes in and what a refused record
// means for the error-feedback residual; this file only keeps records.
//
// Each record is one file `<sequence>.outbox` in the outbox directory:
//
//   fedge-outbox 1\n
//   round <u64>\n
//   model_version <u64>\n
//   task <id>\n                 (1..256 printable ASCII characters, no spaces)
//   sealed_at <unix micros>\n
//   \n
//   <AES-256-GCM record of the serialised update>   (core/sealing.h)
//
// The header is in the clear so a record can be judged without its key, but
// it is authenticated: the associated data is the device id plus the whole
// header, so a record moved to another device, or with an edited round or
// task, fails its tag like a flipped ciphertext byte. A fresh nonce per
// record comes from Seal. Files are written crash-safely (temporary file,
// fsync, rename, fsync of the directory): after a crash a record is either
// whole or absent.
//
// Bounded by count and bytes: storing a record beyond either bound evicts
// the oldest first; the evicted records are returned so the caller can
// return their mass to the residual. A record whose file does not parse or
// authenticate is deleted, logged and counted (OutboxStats::discarded).
//
// Thread-safety: thread-compatible (the device's loop owns it). One process
// per directory: two outboxes on one directory would race.
#ifndef FEDGE_CLIENT_OUTBOX_H_
#define FEDGE_CLIENT_OUTBOX_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/sealing.h"

namespace fedge {

struct OutboxOptions {
  // Directory of the records; created (0700) if missing. Required.
  std::string dir;
  // Most records kept; >= 1.
  int max_records = 16;
  // Most bytes of record files kept; >= 1. A single record larger than
  // this is refused with kResourceExhausted.
  uint64_t max_bytes = uint64_t{64} << 20;
};

// kInvalidArgument naming the bad field.
absl::Status ValidateOutboxOptions(const OutboxOptions& options);

// What a record says about its update (the authenticated header).
struct OutboxHeader {
  uint64_t round = 0;
  uint64_t model_version = 0;
  std::string task_id;
  absl::Time sealed_at = absl::UnixEpoch();
};

// One kept update.
struct OutboxRecord {
  OutboxHeader header;
  // The serialised proto::EncodedUpdate, as Upload sends it.
  std::string update;
};

// A record as stored: `sequence` orders records (oldest first) and names
// them for Remove.
struct StoredOutboxRecord {
  uint64_t sequence = 0;
  OutboxRecord record;
};

// Counts since Open (discarded includes records found bad at Open).
struct OutboxStats {
  uint64_t stored = 0;     // records written
  uint64_t removed = 0;    // records removed by the caller (delivered or refused)
  uint64_t evicted = 0;    // records dropped to respect the bounds
  uint64_t discarded = 0;  // files that did not parse or authenticate
};

// A parsed record file: the header and the sealed body (a view into the
// input). Exposed for the fuzzer and tests.
struct OutboxFile {
  OutboxHeader header;
  std::string header_text;  // the header bytes, the associated data's tail
  std::string_view sealed;
};
// kDataLoss naming what is wrong, for anything that is not a version-1
// record file. Never reads past `bytes`.
absl::StatusOr<OutboxFile> ParseOutboxFile(std::string_view bytes);
// The header bytes for `header` (the format above, blank line included).
// REQUIRES: ValidOutboxTaskId(header.task_id).
std::string FormatOutboxHeader(const OutboxHeader& header);
bool ValidOutboxTaskId(std::string_view task_id);

class Outbox {
 public:
  // Opens (creating) the directory and indexes the records already there;
  // leftovers of an interrupted write are removed. Records are not read
  // until Oldest. kInvalidArgument for bad options or an empty device id,
  // kUnavailable when the directory cannot be created or listed.
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(OutboxOptions options, std::string device_id, SealingKey key);

  // Seals and stores `record` as the newest, then evicts the oldest records
  // beyond the bounds and returns them (unsealed, oldest first; bad ones are
  // discarded instead). kInvalidArgument for a task id ValidOutboxTaskId
  // refuses, kResourceExhausted for a record larger than max_bytes, and the
  // file system's error when writing fails: then nothing was stored.
  absl::StatusOr<std::vector<OutboxRecord>> Put(OutboxRecord record);

  // The oldest record, unsealed; nullopt when the outbox is empty. Records
  // that are unreadable, malformed or fail their tag are deleted and counted
  // on the way (the log says which file and why).
  std::optional<StoredOutboxRecord> Oldest();

  // The record kept for `task_id`, unsealed; nullopt when there is none
  // (bad records met on the way are discarded as in Oldest).
  std::optional<StoredOutboxRecord> Find(std::string_view task_id);

  // Deletes record `sequence` (delivered, or refused by the coordinator).
  // kNotFound when there is none; kUnavailable when the file cannot be removed.
  absl::Status Remove(uint64_t sequence);

  size_t size() const { return index_.size(); }
  uint64_t bytes() const { return bytes_; }
  const OutboxStats& stats() const { return stats_; }
  const std::string& dir() const { return options_.dir; }

 private:
  struct Entry {
    uint64_t sequence;
    uint64_t size;
  };
  Outbox(OutboxOptions options, std::string device_id, SealingKey key)
      : options_(std::move(options)), device_id_(std::move(device_id)), key_(std::move(key)) {}
  absl::Status Index();
  std::string PathOf(uint64_t sequence) const;
  std::string AssociatedData(std::string_view header_text) const;
  // Reads and unseals one record file; kDataLoss/kUnavailable saying why.
  absl::StatusOr<OutboxRecord> Read(uint64_t sequence) const;
  // Deletes a bad record file and counts it.
  void Discard(const Entry& entry, const absl::Status& why);
  void Erase(size_t position);

  const OutboxOptions options_;
  const std::string device_id_;
  const SealingKey key_;
  std::vector<Entry> index_;  // oldest first
  uint64_t bytes_ = 0;
  uint64_t next_sequence_ = 1;
  OutboxStats stats_;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_OUTBOX_H_
