// File: client/drift/detector.h
//
// The one interface every concept-drift detector in fedge implements. A
// detector watches a stream of real numbers that the deployed model produces
// on live data, one value per example:
//   * the per-example loss, when labels arrive (e.g. cross-entropy);
//   * 1 - confidence (1 - max softmax probability), when they do not;
//   * a 0/1 error indicator (DDM is designed for exactly this).
// A rise of the stream's mean means the model fits the data worse: the data
// has drifted away from what the model was trained on.
//
// Implementations (one per file, each citing its paper and defaults):
//   * `PageHinkley`  (client/drift/page_hinkley.h) — Page 1954 / Hinkley 1971;
//   * `Adwin`        (client/drift/adwin.h)        — Bifet & Gavaldà 2007;
//   * `Ddm`          (client/drift/ddm.h)          — Gama et al. 2004.
// Each registers itself by name (client/drift/detector_registry.h); build one
// from configuration with the registry, or watch a deployed model with
// `DriftMonitor` (client/drift/drift_monitor.h).
//
// Usage:
//   FEDGE_ASSIGN_OR_RETURN(DetectorSpec spec, ParseDetectorSpec("name = \"adwin\""));
//   std::unique_ptr<DriftDetector> d = spec.create();
//   for (double loss : losses) {
//     if (d->Update(loss).state == DriftState::kDrift) { ... }
//   }
#ifndef FEDGE_CLIENT_DRIFT_DETECTOR_H_
#define FEDGE_CLIENT_DRIFT_DETECTOR_H_

#include <cstdint>
#include <string_view>

namespace fedge {

enum class DriftState {
  kNone = 0,     // in control
  kWarning = 1,  // the statistic is approaching the drift level (DDM only)
  kDrift = 2,    // a change was detected
};

std::string_view DriftStateName(DriftState state);

// What a detector reports after each value.
struct DriftSignal {
  DriftState state = DriftState::kNone;
  // The detector's test statistic after this value; its meaning is given by
  // each implementation (Page-Hinkley: PH_t; ADWIN: magnitude of the mean
  // change at the detected cut; DDM: p_i + s_i).
  double statistic = 0;
  // Finite values consumed since construction or the last Reset().
  uint64_t samples_seen = 0;
};

// A sequential change detector over a stream of doubles.
//
// After signalling kDrift a detector re-arms itself on the new regime (it
// restarts its statistic or drops the old part of its window), so it can be
// fed on without calling Reset(). Non-finite values (NaN, ±inf) are ignored:
// they are not counted and return kNone with the current statistic.
//
// Thread-safety: thread-compatible. Use one detector from one thread at a
// time (or guard it externally).
class DriftDetector {
 public:
  virtual ~DriftDetector() = default;

  // Consumes one value and reports the detector's state after it.
  virtual DriftSignal Update(double value) = 0;

  // Forgets everything, including samples_seen, as if newly constructed
  // with the same options. Call it when the monitored model is replaced.
  virtual void Reset() = 0;

  // The detector's registry name: "page_hinkley", "adwin" or "ddm". The
  // returned view points to static storage.
  virtual std::string_view name() const = 0;

  // Finite values consumed since construction or the last Reset().
  virtual uint64_t samples_seen() const = 0;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_DETECTOR_H_
