// File: coordinator/rollout.h
//
// `Rollout` is the staged rollout of a deployed INT8 model: instead of every
// device serving a new deployment at once, devices whose stable hash of the
// device id falls below the current stage's share are told the new version
// and the others keep being told the previous one. A stage advances once it
// has soaked for its minimum time and enough of its devices report serving
// the new version healthily; the rollout aborts, which returns every device
// to the previous version, once the share of failing cohort devices exceeds
// `max_failure_share` after the stage's minimum count has reported.
//
// A cohort device counts as failing for the rolled-out version when its
// report says it refused, could not load or failed the health check of that
// version (proto::ModelHealth), measured an accuracy on held-back labelled
// examples below `min_accuracy`, or, serving it, answered more than
// `max_inference_error_share` of at least kMinInferenceRequests inference
// requests with errors. Separately, the rollout aborts when the share of
// cohort devices raising drift alarms while serving the new version exceeds
// the fleet's share before the rollout by more than `max_drift_increase`.
//
// Cohorts: stage s admits devices with hash < threshold_s, where threshold_s
// is the larger of the stage's fraction and what admits its `min_devices`
// lowest-hash registered devices (a canary of 1% of a small fleet is still a
// device), never smaller than the previous stage's. It is fixed when the
// stage starts, so membership does not change under a device.
//
// Pure logic on an injected time (no clock, no I/O, no LibTorch); the
// Federation drives it from Tick(), feeds it checked device reports and
// stores ToStored() in its state store.
//
// Thread-safety: none; the Federation guards it with its mutex.
#ifndef FEDGE_COORDINATOR_ROLLOUT_H_
#define FEDGE_COORDINATOR_ROLLOUT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/fedge.pb.h"
#include "proto/state.pb.h"

namespace fedge {

// Inference requests a device must have answered with a version before its
// error share counts.
inline constexpr double kMinInferenceRequests = 20;

struct RolloutStageOptions {
  double fraction = 1;          // (0, 1]; the last stage must be 1
  int64_t min_devices = 1;      // healthy reports needed to advance (capped by the cohort's size)
  absl::Duration soak = absl::ZeroDuration();  // minimum time in the stage
};

// The default stages: 1% -> 10% -> 50% -> 100%.
std::vector<RolloutStageOptions> DefaultRolloutStages();

struct RolloutOptions {
  // false: every deployment goes to every device at once.
  bool enabled = false;
  std::vector<RolloutStageOptions> stages = DefaultRolloutStages();
  // Abort once failing / reported cohort devices exceeds this, in [0, 1).
  double max_failure_share = 0.2;
  // A reported held-back accuracy below this fails the device; 0: off.
  double min_accuracy = 0;
  // Inference errors / requests above this fails the device.
  double max_inference_error_share = 0.05;
  // Abort when the cohort's drift-alarm share exceeds the pre-rollout share
  // by more than this; >= 1 never.
  double max_drift_increase = 0.25;
};

// kInvalidArgument naming the first bad field (no stages, fractions not in
// (0, 1] or decreasing, last fraction not 1, negative counts or soak, shares
// outside their range).
absl::Status ValidateRolloutOptions(const RolloutOptions& options);

// Where a device id falls in [0, 1): stable across runs, builds and hosts.
double RolloutHash(std::string_view device_id);

// What one checked DeviceReport says, as the rollout reads it.
struct RolloutSample {
  uint64_t serving = 0;            // inference_model_version
  proto::ModelHealth health;       // outcome UNSPECIFIED: nothing said
  double inference_requests = 0;   // the device's counters, as reported
  double inference_errors = 0;
  bool drift_alarm = false;        // the report carried drift alarms
};

class Rollout {
 public:
  explicit Rollout(RolloutOptions options);

  // Resumes a stored rollout (ToStored); the configured stages apply, the
  // stage index is capped to them. kInvalidArgument for a record that does
  // not parse or names an unknown state.
  absl::Status Restore(const proto::StoredRollout& stored);
  proto::StoredRollout ToStored() const;

  // True while a rollout runs or is paused: a newer deployment waits.
  bool active() const;
  // The version every device is told when no rollout is active: the
  // rolled-out version once completed, the previous one once aborted.
  uint64_t stable_version() const;
  uint64_t version() const { return status_.version(); }
  uint64_t previous_version() const { return status_.previous_version(); }

  // Starts rolling out `version`; devices outside the first stage keep
  // `previous` (0: none). `devices` are the registered device ids,
  // `baseline_drift_share` the share of them drifting now.
  // REQUIRES: !active().
  void Start(uint64_t version, uint64_t previous, double baseline_drift_share,
             const std::vector<std::string>& devices, absl::Time now);

  // The deployed version `device_id` should serve.
  uint64_t VersionFor(std::string_view device_id) const;

  // Folds one checked report of a device into its health for the rollout.
  void Observe(std::string_view device_id, const RolloutSample& sample);

  // Applies the numeric rules: advance, complete or abort. Returns a
  // description of the transition made, or nullopt.
  std::optional<std::string> Evaluate(const std::vector<std::string>& devices, absl::Time now);

  // An operator's action. kFailedPrecondition naming the state for one the
  // state does not allow (pause when not running, resume when not paused,
  // promote when not running or paused, rollback without a previous version
  // or once aborted); kInvalidArgument for ACTION_UNSPECIFIED. Returns the
  // transition's description.
  absl::StatusOr<std::string> Control(proto::RolloutControlRequest::Action action,
                                      const std::vector<std::string>& devices, absl::Time now);

  // The state, with the counts of the last Evaluate.
  proto::RolloutStatus Status() const;

 private:
  struct DeviceHealth {
    bool healthy = false;
    bool failed = false;
    bool drifted = false;
    bool baseline_set = false;
    double requests0 = 0;
    double errors0 = 0;
    std::string reason;
  };

  bool InCohort(std::string_view device_id) const;
  // Moves to `stage` (advance or promote), fixing its threshold.
  std::string EnterStage(uint32_t stage, const std::vector<std::string>& devices, absl::Time now);
  std::string Abort(std::string reason);
  // Why `sample` makes the device fail, or empty.
  std::string FailureOf(const RolloutSample& sample, DeviceHealth& health) const;
  void Count(const std::vector<std::string>& devices);

  const RolloutOptions options_;
  proto::RolloutStatus status_;
  double threshold_ = 0;
  double baseline_drift_share_ = 0;
  uint32_t drifted_ = 0;
  std::map<std::string, DeviceHealth, std::less<>> health_;  // of the current version
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ROLLOUT_H_
