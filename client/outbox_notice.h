// File: client/outbox_notice.h
//
// When a device says that the updates it keeps could not be sent yet. It
// tries before every poll, about once a second during an outage with the
// default retry policy; a line each time would bury the rest of its log.
// So the notice is given when an outage begins, whenever the number of kept
// updates changes (one more kept, one delivered or dropped), and otherwise
// at most once per `repeat`. Time comes from the caller (the Device's
// injected Clock), so tests need no sleeping.
//
// Usage (the device loop):
//   if (!delivered.ok()) {
//     if (notice.ShouldLog(clock->Now(), outbox->size())) FEDGE_LOG(INFO) << ...;
//   } else if (std::optional<absl::Duration> outage = notice.End(clock->Now())) {
//     FEDGE_LOG(INFO) << "link back after " << *outage;
//   }
//
// Thread-safety: thread-compatible.
#ifndef FEDGE_CLIENT_OUTBOX_NOTICE_H_
#define FEDGE_CLIENT_OUTBOX_NOTICE_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/time/time.h"

namespace fedge {

class OutboxNotice {
 public:
  explicit OutboxNotice(absl::Duration repeat = absl::Minutes(1)) : repeat_(repeat) {}

  // Whether to log that `waiting` kept updates could not be sent at `now`.
  // The first call of an outage starts it.
  bool ShouldLog(absl::Time now, size_t waiting);
  // Failed attempts not logged before the one ShouldLog just allowed.
  uint64_t skipped() const { return skipped_before_; }
  // How long the current outage has lasted at `now` (zero outside one).
  absl::Duration outage(absl::Time now) const { return began_ ? now - *began_ : absl::ZeroDuration(); }

  // The kept updates went out (or none were left): ends the outage and
  // returns how long it lasted, or nullopt when there was none.
  std::optional<absl::Duration> End(absl::Time now);

 private:
  absl::Duration repeat_;
  std::optional<absl::Time> began_;
  absl::Time logged_at_ = absl::InfinitePast();
  size_t logged_waiting_ = 0;
  uint64_t skipped_ = 0;         // attempts not logged since the last notice
  uint64_t skipped_before_ = 0;  // skipped_ as it was at the last notice
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_OUTBOX_NOTICE_H_
