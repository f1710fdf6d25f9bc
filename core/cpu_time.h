// File: core/cpu_time.h
//
// CPU time of the calling thread (or the process), for logs that separate the work done
// from the wall time a loaded machine stretches it to (the loopback
// benchmark's training floor, bench/README.md). Thread-safe.
#ifndef FEDGE_CORE_CPU_TIME_H_
#define FEDGE_CORE_CPU_TIME_H_

#include <time.h>

namespace fedge {

// Seconds of CPU the calling thread has used since it started (user +
// system). Threads it started (e.g. LibTorch intra-op workers) are not
// counted: measure single-threaded work with it.
inline double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Seconds of CPU every thread of the process has used, for work spread over
// threads (benchmarks of concurrent paths).
inline double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace fedge

#endif  // FEDGE_CORE_CPU_TIME_H_
