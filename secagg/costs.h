// File: secagg/costs.h
//
// What a session spent per protocol stage, for the round record: bytes it
// sent and received (encoded messages), and the wall time and the calling
// thread's CPU time spent inside the session's methods for that stage (CPU
// time does not grow when other processes load the machine).
//
// Thread-safety: plain values.
#ifndef FEDGE_SECAGG_COSTS_H_
#define FEDGE_SECAGG_COSTS_H_

#include <array>
#include <cstdint>
#include <ctime>

#include "absl/time/time.h"

namespace fedge::secagg {

enum class Stage : int { kAdvertiseKeys = 0, kShareKeys = 1, kMaskedInput = 2, kUnmasking = 3 };
inline constexpr int kNumStages = 4;

struct StageCost {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  absl::Duration time = absl::ZeroDuration();
  absl::Duration cpu_time = absl::ZeroDuration();
};

struct SessionCosts {
  std::array<StageCost, kNumStages> stages = {};

  StageCost& at(Stage s) { return stages[static_cast<int>(s)]; }
  const StageCost& at(Stage s) const { return stages[static_cast<int>(s)]; }
  uint64_t TotalBytesSent() const {
    uint64_t t = 0;
    for (const StageCost& s : stages) t += s.bytes_sent;
    return t;
  }
  uint64_t TotalBytesReceived() const {
    uint64_t t = 0;
    for (const StageCost& s : stages) t += s.bytes_received;
    return t;
  }
  absl::Duration TotalTime() const {
    absl::Duration t = absl::ZeroDuration();
    for (const StageCost& s : stages) t += s.time;
    return t;
  }
  absl::Duration TotalCpuTime() const {
    absl::Duration t = absl::ZeroDuration();
    for (const StageCost& s : stages) t += s.cpu_time;
    return t;
  }
};

// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
inline absl::Duration ThreadCpuTime() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return absl::DurationFromTimespec(ts);
}

// Adds the wall and thread CPU time from construction to destruction to
// `cost.time` and `cost.cpu_time`.
class StageTimer {
 public:
  explicit StageTimer(StageCost& cost) : cost_(cost), start_(absl::Now()), cpu_start_(ThreadCpuTime()) {}
  ~StageTimer() {
    cost_.time += absl::Now() - start_;
    cost_.cpu_time += ThreadCpuTime() - cpu_start_;
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  StageCost& cost_;
  absl::Time start_;
  absl::Duration cpu_start_;
};

}  // namespace fedge::secagg

#endif  // FEDGE_SECAGG_COSTS_H_
