// The simulator's side of secure aggregation ([secagg]): the cohort's
// stage-by-stage exchange with the coordinator.

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "simulations/simulator_impl.h"

namespace fedge {

std::vector<proto::RoundRecord> Simulator::Impl::RunSecAggStages(const std::vector<std::unique_ptr<DeviceRun>>& runs,
                                                                 uint64_t round) {
  std::vector<DeviceRun*> active;
  for (const std::unique_ptr<DeviceRun>& run : runs) {
    if (run->prepared && run->step.secure_aggregation) active.push_back(run.get());
  }
  std::sort(active.begin(), active.end(), [](const DeviceRun* a, const DeviceRun* b) { return a->id < b->id; });
  // The exchange starts once the cohort has trained: the coordinator's clock
  // moves to the last device's end of training (the first stage opened with
  // the round, so a stage timeout shorter than training closes it early).
  for (const DeviceRun* run : active) clock.SetTime(std::max(clock.Now(), run->clock->Now()));
  const absl::Duration stage_timeout = absl::Seconds(scenario.secagg.stage_timeout_s);
  std::vector<proto::RoundRecord> closed;
  while (!active.empty()) {
    bool moved = false;
    std::vector<DeviceRun*> waiting;
    for (DeviceRun* run : active) {
      const int stage = std::max(run->step.secagg_stage, 0);
      if (stage > run->dropout_drawn_for) {
        run->dropout_drawn_for = stage;
        if (DrawSecAggDropout(scenario, round, run->id, stage)) run->link->Cut();
      }
      run->step = run->device->FinishStep(std::move(run->step));
      if (run->step.waiting) {
        moved = moved || run->step.secagg_stage != stage;
        waiting.push_back(run);
        continue;
      }
      moved = true;
      run->prepared = false;
      run->finished = true;
      Classify(*run);
      if (run->privacy) privacy->Release(*run->privacy);
    }
    active.swap(waiting);
    if (!moved && !active.empty()) {
      // Everyone left waits for devices that are gone: the stage closes at
      // its deadline.
      clock.SetTime(clock.Now() + stage_timeout);
      for (proto::RoundRecord& r : federation->Tick()) closed.push_back(std::move(r));
    }
  }
  return closed;
}

}  // namespace fedge
