// File: simulations/progress.h
//
// Terminal progress for long simulations. On a TTY it redraws one line with
// a bar, the rounds done, the latest accuracy and the estimated time left;
// otherwise (a log file, CI) it prints a plain line per round for short
// runs and about every tenth of the run for long ones, so logs stay short.
//
// Thread-compatible: updated from the thread that drives the rounds.
#ifndef FEDGE_SIMULATIONS_PROGRESS_H_
#define FEDGE_SIMULATIONS_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "core/env.h"

namespace fedge {

class ProgressBar {
 public:
  // Writes to `out` (borrowed, e.g. stderr); `tty` selects the redrawn bar.
  // `clock` (borrowed) times the ETA; a FakeClock makes output testable.
  ProgressBar(int64_t total, std::FILE* out, bool tty, Clock* clock = Clock::Real());
  // Reports `done` of `total` rounds finished; `status` is a short note such
  // as "acc 84.2%".
  void Update(int64_t done, std::string_view status);
  // Ends the TTY line so later output starts on a fresh line.
  void Finish();

  // "[#####     ] 5/10 rounds  acc 84.2%  0:32 elapsed  ETA 0:32".
  static std::string Line(int64_t done, int64_t total, std::string_view status, absl::Duration elapsed, int width);

 private:
  int64_t total_;
  std::FILE* out_;
  bool tty_;
  Clock* clock_;
  absl::Time start_;
  int64_t last_printed_ = 0;
  bool drawn_ = false;
};

// "m:ss" or "h:mm:ss".
std::string FormatElapsed(absl::Duration d);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_PROGRESS_H_
