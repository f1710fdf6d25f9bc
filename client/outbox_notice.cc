#include "client/outbox_notice.h"

namespace fedge {

bool OutboxNotice::ShouldLog(absl::Time now, size_t waiting) {
  const bool begins = !began_.has_value();
  if (begins) began_ = now;
  if (!begins && waiting == logged_waiting_ && now - logged_at_ < repeat_) {
    ++skipped_;
    return false;
  }
  logged_at_ = now;
  logged_waiting_ = waiting;
  skipped_before_ = skipped_;
  skipped_ = 0;
  return true;
}

std::optional<absl::Duration> OutboxNotice::End(absl::Time now) {
  if (!began_) return std::nullopt;
  const absl::Duration lasted = now - *began_;
  began_.reset();
  skipped_ = 0;
  return lasted;
}

}  // namespace fedge
