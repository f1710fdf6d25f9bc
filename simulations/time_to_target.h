// File: simulations/time_to_target.h
//
// How long a run took to reach a target accuracy, in simulated time and in
// accepted updates: the figure that compares a synchronous and an
// asynchronous run of the same population (simulations/scenarios/async.toml,
// where the target is the synchronous run's final accuracy).
//
// LibTorch-free. Pure functions; thread-safe.
#ifndef FEDGE_SIMULATIONS_TIME_TO_TARGET_H_
#define FEDGE_SIMULATIONS_TIME_TO_TARGET_H_

#include <cstdint>
#include <vector>

#include "simulations/report.h"

namespace fedge {

struct TimeToTarget {
  bool reached = false;
  // At the first row whose test accuracy is >= the target (NaN / 0 when
  // never reached): its simulated time since the start, its round (server
  // step) and the updates accepted up to and including it.
  double sim_time_s = 0;
  int64_t round = 0;
  int64_t updates = 0;
};

// Scans `rows` in order; rows without an evaluation are skipped but their
// updates count.
TimeToTarget FirstReaching(const std::vector<RoundRow>& rows, double target_accuracy);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_TIME_TO_TARGET_H_
