#include "coordinator/store/progress_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "coordinator/store/blob_encoding.h"
#include "core/crc32c.h"
#include "core/status.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'F', 'E', 'D', 'G', 'E', 'P', 'R', 'G'};
constexpr uint32_t kFormat = 1;
// magic | format | crc | seq | round | acked length | acked crc | progress length
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 8 + 8 + 4 + 8;
constexpr size_t kCrcOffset = 12;
constexpr size_t kCovered = kCrcOffset + 4;  // the header's CRC covers it from here
// A slot grows to at least this, then by doubling: a round's acknowledged
// list grows with every batch, and a write that changes the file's size
// makes fdatasync journal metadata too.
constexpr uint64_t kMinSlotBytes = 256 << 10;

void PutLe(char* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t GetLe(const char* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

absl::Status IoError(const std::string& path, const char* what) {
  const int err = errno;
  std::string message = absl::StrCat(path, ": ", what, " failed: ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) {
    return absl::ResourceExhaustedError(absl::StrCat(message, "; free space on the state directory's disk"));
  }
  return absl::UnavailableError(message);
}

absl::StatusOr<std::string> ReadWhole(int fd, const std::string& path, uint64_t size) {
  std::string bytes(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, bytes.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError(path, "read");
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// Drops the first `n` bytes of the `count` buffers at `parts`.
void DropFront(size_t n, iovec*& parts, int& count) {
  while (count > 0 && n >= parts->iov_len) {
    n -= parts->iov_len;
    ++parts;
    --count;
  }
  if (count > 0) {
    parts->iov_base = static_cast<char*>(parts->iov_base) + n;
    parts->iov_len -= n;
  }
}

bool HasMagic(std::string_view bytes) {
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

}  // namespace

absl::StatusOr<std::optional<ProgressRecord>> ParseProgressSlot(std::string_view bytes, uint64_t* seq) {
  if (bytes.size() < kHeaderSize || !HasMagic(bytes)) return std::nullopt;
  const char* h = bytes.data();
  const uint64_t acked_size = GetLe(h + 32, 8);
  const uint64_t progress_size = GetLe(h + 44, 8);
  const uint64_t room = bytes.size() - kHeaderSize;
  if (acked_size > room || progress_size > room - acked_size) return std::nullopt;  // torn
  const std::string_view acked = bytes.substr(kHeaderSize, acked_size);
  const std::string_view progress = bytes.substr(kHeaderSize + acked_size, progress_size);
  if (Crc32c(Crc32c(0, bytes.substr(kCovered, kHeaderSize - kCovered)), progress) != GetLe(h + kCrcOffset, 4) ||
      Crc32c(0, acked) != GetLe(h + 40, 4)) {
    return std::nullopt;  // torn
  }
  if (GetLe(h + 8, 4) != kFormat) {
    return absl::DataLossError(absl::StrCat("progress record format ", GetLe(h + 8, 4), " is not ", kFormat));
  }
  ProgressRecord record;
  record.round = GetLe(h + 24, 8);
  record.progress = std::string(progress);
  FEDGE_ASSIGN_OR_RETURN(record.acked, DecodeAckedEntries(acked, record.round, "acknowledged updates"));
  *seq = GetLe(h + 16, 8);
  return record;
}

absl::StatusOr<std::unique_ptr<ProgressFile>> ProgressFile::Open(const std::string& dir, Options options) {
  std::array<Slot, 2> slots;
  for (int i = 0; i < 2; ++i) {
    slots[i].path = (fs::path(dir) / absl::StrCat("progress.", i)).string();
    slots[i].fd = open(slots[i].path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (slots[i].fd < 0) {
      absl::Status error = IoError(slots[i].path, "open");
      if (i == 1) close(slots[0].fd);
      return error;
    }
  }
  std::unique_ptr<ProgressFile> file(new ProgressFile(options, std::move(slots)));
  FEDGE_ASSIGN_OR_RETURN(Newest newest, ReadSlots(file->slots_));
  file->newest_slot_ = newest.slot;
  file->seq_ = newest.seq;
  if (newest.record) {
    file->round_ = newest.record->round;
    file->acked_ = std::move(newest.record->acked);
    for (const AckedUpdate& u : file->acked_) AppendAckedEntry(u, file->acked_bytes_);
    file->acked_crc_ = Crc32c(0, file->acked_bytes_);
  }
  return file;
}

ProgressFile::~ProgressFile() {
  for (Slot& slot : slots_) close(slot.fd);
}

absl::StatusOr<ProgressFile::Newest> ProgressFile::ReadSlots(std::array<Slot, 2>& slots) {
  Newest newest;
  bool damaged[2] = {false, false};
  for (int i = 0; i < 2; ++i) {
    Slot& slot = slots[i];
    struct stat st;
    if (fstat(slot.fd, &st) != 0) return IoError(slot.path, "stat");
    slot.size = static_cast<uint64_t>(st.st_size);
    FEDGE_ASSIGN_OR_RETURN(const std::string bytes, ReadWhole(slot.fd, slot.path, slot.size));
    uint64_t seq = 0;
    absl::StatusOr<std::optional<ProgressRecord>> record = ParseProgressSlot(bytes, &seq);
    if (!record.ok()) return absl::DataLossError(absl::StrCat(slot.path, ": ", record.status().message()));
    // A cleared or never written slot has no magic; one with the magic
    // that does not parse holds a record that was being written.
    damaged[i] = !*record && HasMagic(bytes);
    slot.round = *record ? std::optional<uint64_t>((*record)->round) : std::nullopt;
    slot.acked_size = *record ? GetLe(bytes.data() + 32, 8) : 0;
    if (*record && (!newest.record || seq > newest.seq)) {
      newest = Newest{*std::move(*record), i, seq};
    }
  }
  if (damaged[0] && damaged[1]) {
    return absl::DataLossError(absl::StrCat(slots[0].path, " and ", slots[1].path,
                                            " are both damaged: the open round's acknowledged updates are lost"));
  }
  return newest;
}

absl::StatusOr<std::optional<ProgressRecord>> ProgressFile::ReadNewest() const {
  FEDGE_ASSIGN_OR_RETURN(Newest newest, ReadSlots(slots_));
  return std::move(newest.record);
}

absl::Status ProgressFile::Write(uint64_t round, std::string_view progress, const std::vector<AckedUpdate>& acked) {
  const bool same_round = round_ == round;
  std::string list = same_round ? std::move(acked_bytes_) : std::string();
  const size_t kept = list.size();
  for (const AckedUpdate& u : acked) AppendAckedEntry(u, list);
  const uint32_t list_crc = Crc32c(same_round ? acked_crc_ : 0, std::string_view(list).substr(kept));
  char header[kHeaderSize];
  std::memcpy(header, kMagic, sizeof kMagic);
  PutLe(header + 8, kFormat, 4);
  PutLe(header + 16, seq_ + 1, 8);
  PutLe(header + 24, round, 8);
  PutLe(header + 32, list.size(), 8);
  PutLe(header + 40, list_crc, 4);
  PutLe(header + 44, progress.size(), 8);
  const std::string_view head(header, kHeaderSize);
  PutLe(header + kCrcOffset, Crc32c(Crc32c(0, head.substr(kCovered)), progress), 4);
  Slot& slot = slots_[1 - newest_slot_];
  // The slot's record of this round holds a prefix of the list (it only
  // grows): only the rest is written.
  const uint64_t held = slot.round == round ? slot.acked_size : 0;
  const absl::Status written = WriteSlot(slot, head, held, std::string_view(list).substr(held), progress);
  if (!written.ok()) {
    if (same_round) {  // back to the newest record's list
      list.resize(kept);
      acked_bytes_ = std::move(list);
    }
    return written;
  }
  slot.round = round;
  slot.acked_size = list.size();
  acked_bytes_ = std::move(list);
  acked_crc_ = list_crc;
  if (!same_round) acked_.clear();
  for (const AckedUpdate& u : acked) {
    acked_.push_back(AckedUpdate{round, u.task_id, u.device_id, std::string(), u.size != 0 ? u.size : u.bytes.size()});
  }
  round_ = round;
  newest_slot_ = 1 - newest_slot_;
  ++seq_;
  return absl::OkStatus();
}

absl::Status ProgressFile::WriteSlot(Slot& slot, std::string_view header, uint64_t held, std::string_view list_tail,
                                     std::string_view progress) {
  const uint64_t needed = header.size() + held + list_tail.size() + progress.size();
  if (options_.max_slot_bytes > 0 && needed > options_.max_slot_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(slot.path, ": the round's progress needs ", needed, " bytes, more than the ",
                     options_.max_slot_bytes, " allowed; free space on the state directory's disk"));
  }
  // Growing: the new size is written with zeros now, so the following
  // writes overwrite allocated blocks without changing the size.
  std::string zeros;
  if (needed > slot.size) zeros.assign(std::max({needed * 2, kMinSlotBytes, slot.size * 2}) - needed, '\0');
  iovec head[1] = {{const_cast<char*>(header.data()), header.size()}};
  iovec body[3] = {{const_cast<char*>(list_tail.data()), list_tail.size()},
                   {const_cast<char*>(progress.data()), progress.size()},
                   {zeros.data(), zeros.size()}};
  FEDGE_RETURN_IF_ERROR(WriteAll(slot, head, 1, 0));
  FEDGE_RETURN_IF_ERROR(WriteAll(slot, body, 3, header.size() + held));
  slot.size = std::max(slot.size, needed + zeros.size());
  if (options_.sync && fdatasync(slot.fd) != 0) return IoError(slot.path, "fdatasync");
  return absl::OkStatus();
}

absl::Status ProgressFile::WriteAll(const Slot& slot, iovec* parts, int count, uint64_t offset) {
  uint64_t total = 0;
  for (int i = 0; i < count; ++i) total += parts[i].iov_len;
  for (uint64_t done = 0; done < total;) {
    const ssize_t n = pwritev(slot.fd, parts, count, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError(slot.path, "write");
    done += static_cast<uint64_t>(n);
    DropFront(static_cast<size_t>(n), parts, count);  // a short write on a nearly full disk
  }
  return absl::OkStatus();
}

absl::Status ProgressFile::Clear() {
  const char zeros[kHeaderSize] = {};
  for (Slot& slot : slots_) {
    if (slot.size == 0) continue;
    if (pwrite(slot.fd, zeros, sizeof zeros, 0) != static_cast<ssize_t>(sizeof zeros)) {
      return IoError(slot.path, "write");
    }
    if (fdatasync(slot.fd) != 0) return IoError(slot.path, "fdatasync");
  }
  for (Slot& slot : slots_) {
    slot.round.reset();
    slot.acked_size = 0;
  }
  round_.reset();
  acked_.clear();
  acked_bytes_.clear();
  return absl::OkStatus();
}

absl::Status ProgressFile::Copy(const std::string& src_dir, const std::string& dest_dir) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ProgressFile> src, Open(src_dir, {.sync = false}));
  FEDGE_ASSIGN_OR_RETURN(std::optional<ProgressRecord> newest, src->ReadNewest());
  if (!newest) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<ProgressFile> dest, Open(dest_dir, {.sync = true}));
  return dest->Write(newest->round, newest->progress, newest->acked);
}

}  // namespace fedge
