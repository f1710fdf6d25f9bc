#include "simulations/progress.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/strings.h"

namespace fedge {

std::string FormatElapsed(absl::Duration d) {
  const int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (s >= 3600) return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
  return absl::StrFormat("%d:%02d", s / 60, s % 60);
}

ProgressBar::ProgressBar(int64_t total, std::FILE* out, bool tty, Clock* clock)
    : total_(std::max<int64_t>(total, 1)), out_(out), tty_(tty), clock_(clock), start_(clock->Now()) {}

std::string ProgressBar::Line(int64_t done, int64_t total, std::string_view status, absl::Duration elapsed, int width) {
  const int filled = static_cast<int>(width * std::clamp<double>(static_cast<double>(done) / total, 0, 1));
  std::string line =
      absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, ' '), "] ", done, "/", total, " rounds");
  if (!status.empty()) absl::StrAppend(&line, "  ", AsAbsl(status));
  absl::StrAppend(&line, "  ", FormatElapsed(elapsed), " elapsed");
  if (done > 0 && done < total) {
    absl::StrAppend(&line, "  ETA ", FormatElapsed(elapsed / static_cast<double>(done) * (total - done)));
  }
  return line;
}

void ProgressBar::Update(int64_t done, std::string_view status) {
  const std::string line = Line(done, total_, status, clock_->Now() - start_, 30);
  if (tty_) {
    // \x1b[K clears what a longer previous line left behind.
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    drawn_ = true;
  } else {
    const int64_t every = std::max<int64_t>(1, total_ <= 20 ? 1 : total_ / 10);
    if (done - last_printed_ < every && done != total_) return;
    std::fprintf(out_, "%s\n", line.c_str());
    last_printed_ = done;
  }
  std::fflush(out_);
}

void ProgressBar::Finish() {
  if (tty_ && drawn_) std::fprintf(out_, "\n");
  drawn_ = false;
  std::fflush(out_);
}

}  // namespace fedge
