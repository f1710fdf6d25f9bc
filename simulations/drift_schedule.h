// File: simulations/drift_schedule.h
//
// The scenario's `[drift]` table: which devices' data drift, how, from which
// round and how fast, how devices watch for it and how the federation
// responds. Everything here is plain data and arithmetic (LibTorch-free);
// the transforms live in simulations/drift_transform.h and the simulation
// in simulations/drift_sim.h.
//
//   [drift]
//   kind = "rotation"      # rotation | brightness | noise | label_shift | label_swap
//   fraction = 0.5         # share of the devices that drift (seeded draw) ...
//   devices = [0, 3, 7]    # ... or an explicit device group (population indices)
//   start_round = 8        # first round whose new data are drifted, >= 1
//   ramp_rounds = 0        # 0 = abrupt; else the drift grows linearly over this many rounds
//   magnitude = 90         # at full drift; meaning depends on the kind (below)
//   contrast = 1           # brightness: contrast factor at full drift
//   labels = [3, 5]        # label_swap: the two swapped labels; label_shift: the favoured classes
//   response = true        # devices prioritise recent data after an alarm
//   report_alarms = true   # devices report alarms (DeviceReport.alarms)
//   observe_examples = 200 # new examples every device sees (and scores) per round
//   window = 400, reservoir = 200, train_examples = 256    # the device's data store
//   hold_examples = 0      # recent-only training lasts this many new examples after an alarm (0 = window)
//   eval_examples = 2000   # held-out examples for the drifted-distribution accuracy
//   [drift.detector]       # client/drift: the DriftMonitor of every device
//   name = "page_hinkley"  # any registered detector: page_hinkley | adwin | ddm
//   signal = "error_prob"  # what is fed: error_prob (1 - p(true label)) | loss | error (0/1)
//   warmup_samples, cooldown_samples
//   reference_examples = 200  # re-baseline on every new model (0 = never restart)
//   [drift.detector.page_hinkley]  # the detector's own options (detector_registry.h)
//   delta, threshold, alpha, min_samples, two_sided
//
// Magnitudes (at full drift, scaled by DriftProgress while ramping):
//   rotation     degrees, counter-clockwise about the image centre;
//   brightness   additive offset on the [0, 1] pixel scale, in [-1, 1],
//                applied after the contrast factor (about mid-grey);
//   noise        standard deviation of Gaussian sensor noise, pixel scale;
//   label_shift  share of new examples drawn from `labels` (the device's
//                own examples of those classes), in [0, 1];
//   label_swap   share of examples of labels a and b whose label is
//                swapped (concept drift), in [0, 1]; default 1.
//
// LibTorch-free. Plain data and stateless functions; thread-safe.
#ifndef FEDGE_SIMULATIONS_DRIFT_SCHEDULE_H_
#define FEDGE_SIMULATIONS_DRIFT_SCHEDULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "client/drift/detector_registry.h"
#include "client/drift_settings.h"
#include "core/config.h"
#include "nlohmann/json.hpp"

namespace fedge {

enum class DriftKind { kNone, kRotation, kBrightness, kNoise, kLabelShift, kLabelSwap };

// "rotation", "brightness", "noise", "label_shift", "label_swap".
const std::vector<std::string>& DriftKindNames();

// The device keys (data store, monitor, response) are client/drift_settings.h's,
// read by the same functions as fedge-device's.
struct DriftSettings : DeviceDriftSettings, DataStoreSettings {
  DriftKind kind = DriftKind::kNone;  // kNone: no [drift] table
  // Share of the population that drifts (seeded draw) unless `devices` is set.
  double fraction = 0.5;
  // Explicit device group (population indices); overrides `fraction`.
  std::vector<int64_t> devices;
  int64_t start_round = 1;
  int64_t ramp_rounds = 0;
  double magnitude = 0;  // 0 = the kind's default (90° / 0.5 / 0.3 / 0.8 / 1)
  double contrast = 1;
  std::vector<int> labels;

  // The device response (response, report_alarms, hold_examples) and
  // monitor (detector, signal, warmup/cooldown, reference_examples) come
  // from DeviceDriftSettings; the store (window, reservoir, train_examples)
  // from DataStoreSettings. The coordinator's response (favour_drifting,
  // extra rounds) is in the shared [federation] table.
  // With reference_examples > 0, every device restarts its monitor whenever
  // the global model changes and re-baselines it on that many examples of
  // its recent window before the new data: a model change alone then raises
  // no alarm.

  // New examples every simulated device sees (and scores) per round.
  int64_t observe_examples = 200;
  int64_t eval_examples = 2000;

  bool enabled() const { return kind != DriftKind::kNone; }
};

// Reads `[drift]` (absent: drift stays off) into `*drift`, range-checks every
// key and cross-checks it against the population size and the rounds.
// Problems are recorded on `section`.
void ReadDriftTable(ConfigSection section, int64_t num_devices, int64_t rounds, DriftSettings* drift);

// The settings as JSON keyed like the TOML table ({"kind": "none"} when off).
nlohmann::json DriftToJson(const DriftSettings& drift);

// How far the drift has progressed in `round`, in [0, 1]: 0 before
// start_round; 1 from start_round on when abrupt; otherwise
// min(1, (round - start_round + 1) / ramp_rounds).
double DriftProgress(const DriftSettings& drift, int64_t round);

// The kind's magnitude at full drift (`magnitude`, or the kind's default).
double FullMagnitude(const DriftSettings& drift);

// drifting[i] says whether device i (population index) drifts: the
// explicit group, or exactly round(fraction × num_devices) devices drawn by
// a shuffle seeded with `seed`. Empty set when drift is off.
std::vector<bool> SelectDriftingDevices(const DriftSettings& drift, int64_t num_devices, uint64_t seed);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DRIFT_SCHEDULE_H_
