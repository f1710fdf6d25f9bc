#include "simulations/time_to_target.h"

#include <cmath>

namespace fedge {

TimeToTarget FirstReaching(const std::vector<RoundRow>& rows, double target_accuracy) {
  TimeToTarget t;
  int64_t updates = 0;
  for (const RoundRow& row : rows) {
    updates += row.participants;
    if (std::isfinite(row.test_accuracy) && row.test_accuracy >= target_accuracy) {
      return TimeToTarget{.reached = true, .sim_time_s = row.sim_time_s, .round = row.round, .updates = updates};
    }
  }
  t.sim_time_s = NAN;
  t.updates = updates;
  return t;
}

}  // namespace fedge
