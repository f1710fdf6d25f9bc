// File: coordinator/store/progress_file.h
//
// `ProgressFile` keeps the open round's progress outside SQLite: the
// aggregate after the latest batch of acknowledged updates
// (RoundState::SaveProgress) and every update acknowledged in the round so
// far (task, device, size; no bytes). One batch costs one positioned write
// and one fdatasync of a file whose size rarely changes, where a SQLite
// transaction rewrote the model-sized BLOB page by page into the WAL and
// again into the database (coordinator/store/README.md, "The progress
// file").
//
// Two slot files, `<dir>/progress.0` and `<dir>/progress.1`, each holding at
// most one record, written alternately (the write goes to the slot that does
// NOT hold the newest valid record). A record:
//
//   "FEDGEPRG" | u32 format (1) | u32 CRC | u64 seq | u64 round |
//   u64 acked length | u32 acked CRC | u64 progress length |
//   acked entries | progress
//
// (little-endian; CRC-32C, core/crc32c.h: the first covers the rest of the
// header and the progress, the second the acked entries). A write torn by
// a crash fails a CRC and the other slot still holds the batch before it,
// which is exactly what was acknowledged: an update is acknowledged only
// after its record's fdatasync. The acked entries come first because they
// only grow within a round: a slot already holding the round's list up to
// its previous write gets only the new entries (and the header and
// progress), and the list's CRC is extended, not recomputed. A slot is
// grown with zeros in large steps, so most writes do not change the file's
// size and fdatasync has no metadata to journal.
//
// Thread-safety: not thread-safe; the SqliteStateStore serialises calls.
#ifndef FEDGE_COORDINATOR_STORE_PROGRESS_FILE_H_
#define FEDGE_COORDINATOR_STORE_PROGRESS_FILE_H_

#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store/state_store.h"

namespace fedge {

// The newest valid record of a state directory.
struct ProgressRecord {
  uint64_t round = 0;
  std::string progress;            // RoundState::SaveProgress
  std::vector<AckedUpdate> acked;  // in acknowledgement order, without bytes
};

// Parses one slot's bytes (a whole file). nullopt: an empty or cleared slot,
// or one whose record is torn (bad CRC or truncated). kDataLoss when the
// CRC matches but the record does not parse (never written by fedge).
// `seq` receives the record's sequence number. Exposed for the fuzzer.
absl::StatusOr<std::optional<ProgressRecord>> ParseProgressSlot(std::string_view bytes, uint64_t* seq);

class ProgressFile {
 public:
  struct Options {
    // fdatasync after every write (SqliteStateStoreOptions::sync_every_commit).
    bool sync = true;
    // Test hook: a slot larger than this is refused with kResourceExhausted,
    // as a full disk would be. 0: no limit.
    uint64_t max_slot_bytes = 0;
  };

  // Opens (creating when missing) the two slots in `dir` and reads them.
  // kDataLoss naming the files when both hold a damaged record (at most one
  // write is ever in flight, so only damage at rest does that).
  static absl::StatusOr<std::unique_ptr<ProgressFile>> Open(const std::string& dir, Options options);
  ~ProgressFile();
  ProgressFile(const ProgressFile&) = delete;
  ProgressFile& operator=(const ProgressFile&) = delete;

  // The round of the newest record and its acknowledged updates (without
  // bytes, in acknowledgement order), as read at Open and kept by Write;
  // nullopt and empty when there is none.
  std::optional<uint64_t> round() const { return round_; }
  const std::vector<AckedUpdate>& acked() const { return acked_; }

  // The newest record, read back from the slots: the progress is not kept
  // in memory (it is only needed at start-up).
  absl::StatusOr<std::optional<ProgressRecord>> ReadNewest() const;

  // Stores `progress` of `round` with `acked` added to the round's list
  // (a new round starts an empty list). OK: durable (Options::sync). On an
  // error nothing changed: the previous record stays the newest.
  // kResourceExhausted for a full disk, kUnavailable for other I/O errors.
  absl::Status Write(uint64_t round, std::string_view progress, const std::vector<AckedUpdate>& acked);

  // Forgets every record (a round opens or a new run starts): zeroes the
  // slots' headers and syncs them.
  absl::Status Clear();

  // Writes the newest record of the slots in `src_dir` into `dest_dir`
  // (a backup; nothing when `src_dir` has none).
  static absl::Status Copy(const std::string& src_dir, const std::string& dest_dir);

 private:
  struct Slot {
    int fd = -1;
    std::string path;
    uint64_t size = 0;  // the file's size
    // The round of the valid record it holds and that record's list length.
    std::optional<uint64_t> round;
    uint64_t acked_size = 0;
  };
  // The newest valid record of the slots, the slot holding it and its
  // sequence number. Updates each slot's size.
  struct Newest {
    std::optional<ProgressRecord> record;
    int slot = 1;
    uint64_t seq = 0;
  };
  static absl::StatusOr<Newest> ReadSlots(std::array<Slot, 2>& slots);

  ProgressFile(Options options, std::array<Slot, 2> slots) : options_(options), slots_(std::move(slots)) {}
  // Writes a record into `slot` whose first `held` bytes of the list are
  // there already, growing the file when needed, and syncs it.
  absl::Status WriteSlot(Slot& slot, std::string_view header, uint64_t held, std::string_view list_tail,
                         std::string_view progress);
  // pwritev of every byte of `parts` at `offset`.
  static absl::Status WriteAll(const Slot& slot, iovec* parts, int count, uint64_t offset);

  const Options options_;
  mutable std::array<Slot, 2> slots_;
  int newest_slot_ = 1;  // the slot of the newest record (the next write goes to the other)
  uint64_t seq_ = 0;     // the newest record's sequence number
  std::optional<uint64_t> round_;
  std::vector<AckedUpdate> acked_;
  std::string acked_bytes_;  // acked_, encoded
  uint32_t acked_crc_ = 0;   // of acked_bytes_
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_PROGRESS_FILE_H_
