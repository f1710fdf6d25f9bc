// File: simulations/drift_sim.h
//
// `DriftSimulation` makes the devices of a simulated federation see drifting
// data (simulations/drift_schedule.h) and respond to it through the real
// device-side components:
//
//  * every device keeps a `DeviceDataStream` (client/data) — the device's
//    bounded window of recent examples plus a replay reservoir. The
//    simulator stores (example index, round seen) pairs in it rather than
//    pixels, so the memory per device is ~36 bytes per slot, and rebuilds
//    the images (transformed as they were that round) when the device trains;
//  * every round, before the sampled devices train, EVERY device receives
//    `observe_examples` new examples from its current distribution (drifted
//    for drifting devices from `start_round` on) and scores them with the
//    deployed global model, after re-scoring `reference_examples` of its
//    recent window with that model and restarting its monitor on them (a
//    new model alone is no drift); the per-example signal feeds its
//    `DriftResponder` (client/drift_response.h), which on an alarm calls
//    `DeviceDataStream::NotifyDrift()` (when `response` is on) and reports
//    the alarm with its statistic through the coordinator's `Report` RPC —
//    the same path a real device uses; the Federation's drift map and
//    `favour_drifting` take it from there;
//  * a sampled device trains on `TrainingSet()`: `train_examples` drawn from
//    its stream (recent-only while a NotifyDrift hold lasts);
//  * after each round, the global model is evaluated on `eval_examples`
//    held-out examples transformed like the drifting devices' current data,
//    next to the ordinary test accuracy.
//
// Everything is deterministic in the scenario seed.
//
// Thread-safety: ObserveRound and FillRow are called from the simulator's
// driving thread; TrainingSet may be called concurrently for different
// devices between them (it only reads).
#ifndef FEDGE_SIMULATIONS_DRIFT_SIM_H_
#define FEDGE_SIMULATIONS_DRIFT_SIM_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/idx.h"
#include "core/params.h"
#include "core/transport.h"
#include "proto/fedge.pb.h"
#include "simulations/report.h"
#include "simulations/scenario.h"
#include "simulations/virtual_device.h"

namespace fedge {

struct FederationOptions;  // coordinator/federation.h

class DriftSimulation {
 public:
  // Borrowed, all outliving the simulation: `train` and `test` (test may be
  // empty when the scenario never evaluates), the population, the
  // coordinator transport alarms are reported to, and the coordinator's
  // clock that stamps them. kInvalidArgument when the scenario has no drift
  // or its detector options are invalid.
  static absl::StatusOr<std::unique_ptr<DriftSimulation>> Create(const Scenario& scenario, const ImageDataset& train,
                                                                 const ImageDataset& test,
                                                                 const std::vector<DeviceProfile>& population,
                                                                 Transport* coordinator, Clock* clock);
  ~DriftSimulation();
  DriftSimulation(const DriftSimulation&) = delete;
  DriftSimulation& operator=(const DriftSimulation&) = delete;

  // Round `round`'s new data for every device, scored by `global`; alarms
  // are responded to and reported. kInternal for a LibTorch failure;
  // a report the coordinator refuses is returned as its error.
  absl::Status ObserveRound(int64_t round, const ModelParams& global);

  // The current training set of device `index` (population order) at
  // `round`, transformed as each example was when it arrived; `seed` draws
  // it. Empty when the device has no data.
  ImageDataset TrainingSet(size_t index, int64_t round, uint64_t seed) const;

  // Fills the drift columns of `row` from the closed round's record and
  // the current global model (drifted accuracy only in rounds where the test
  // set was evaluated). kInternal for a LibTorch failure.
  absl::Status FillRow(const proto::RoundRecord& record, const ModelParams& global, RoundRow& row);

  // Whether device `index` drifts.
  bool drifting(size_t index) const;

 private:
  struct Impl;
  explicit DriftSimulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DRIFT_SIM_H_
