// ValidateFederationOptions (coordinator/federation.h): every option checked
// once, before a Federation is built, with the field named in the error.
#include "absl/strings/str_cat.h"
#include "compression/codec.h"
#include "coordinator/federation.h"
#include "core/status.h"
#include "settings/secagg_settings.h"

namespace fedge {

absl::Status ValidateFederationOptions(const FederationOptions& o) {
  auto bad = [](const char* what) { return absl::InvalidArgumentError(absl::StrCat("federation options: ", what)); };
  if (o.model_id.empty()) return bad("model_id must not be empty");
  if (o.max_rounds < 0) return bad("max_rounds must be >= 0 (0 runs without end)");
  if (o.min_devices < 1) return bad("min_devices must be >= 1");
  if (o.fraction < 0 || o.fraction > 1) return bad("fraction must be in [0, 1] (0 uses devices_per_round)");
  if (o.fraction == 0 && o.devices_per_round < 1) return bad("devices_per_round must be >= 1");
  if (!(o.over_selection >= 1 && o.over_selection <= 10)) return bad("over_selection must be in [1, 10]");
  if (o.min_quorum < 1) return bad("min_quorum must be >= 1");
  if (o.round_deadline <= absl::ZeroDuration()) return bad("round_deadline must be positive");
  if (o.poll_interval <= absl::ZeroDuration()) return bad("poll_interval must be positive");
  if (o.evaluate_every < 0) return bad("evaluate_every must be >= 0");
  if (o.async.enabled && o.secagg.enabled) {
    return bad("secure aggregation needs synchronous rounds; disable async or secagg");
  }
  if (!(o.extra_round_drift_fraction >= 0 && o.extra_round_drift_fraction <= 1)) {
    return bad("extra_round_drift_fraction must be in [0, 1] (0 disables extra rounds)");
  }
  if (o.max_extra_rounds < 0) return bad("max_extra_rounds must be >= 0");
  if (o.deploy_every < 0) return bad("deploy_every must be >= 0 (0 never deploys)");
  if (o.deploy_every > 0 && o.deployer == nullptr) return bad("deploy_every > 0 needs a deployer");
  if (o.rollout.enabled) FEDGE_RETURN_IF_ERROR(ValidateRolloutOptions(o.rollout));
  if (o.download_chunk_bytes < 1024) return bad("download_chunk_bytes must be >= 1024");
  if (o.device_offline_after <= absl::ZeroDuration()) return bad("device_offline_after must be positive");
  if (o.resume_grace < absl::ZeroDuration()) return bad("resume_grace must be >= 0");
  if (!o.train.codec().empty()) FEDGE_RETURN_IF_ERROR(ValidateCodecSpec(o.train.codec()));
  if (o.async.enabled) {
    FEDGE_RETURN_IF_ERROR(o.async.staleness.Validate());
    if (o.async.buffer_size < 1) return bad("async.buffer_size must be >= 1");
    if (o.async.max_concurrent < 0) return bad("async.max_concurrent must be >= 0 (0: no limit)");
    if (o.async.max_concurrent > 0 && o.async.max_concurrent < o.async.buffer_size) {
      return bad("async.max_concurrent must be 0 or >= async.buffer_size, or the buffer could never fill");
    }
    if (o.rollout.enabled) return bad("a staged rollout needs rounds: it is not available in async mode");
  }
  if (o.client_dp) {
    if (!(o.client_dp->device_sampling_rate > 0 && o.client_dp->device_sampling_rate <= 1)) {
      return bad("client_dp.device_sampling_rate must be in (0, 1]: the expected fraction of devices per round");
    }
    if (!(o.client_dp_delta > 0 && o.client_dp_delta < 1)) return bad("client_dp_delta must be in (0, 1)");
  }
  FEDGE_RETURN_IF_ERROR(ValidateSecAggOptions(o.secagg));
  if (o.secagg.enabled) {
    if (absl::StatusOr<int> bits = SecAggCodeBits(o.train.codec()); !bits.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("federation options: train.codec: ", bits.status().message()));
    }
    if (!(o.train.update_clip_norm() > 0) && !o.client_dp) {
      return bad("secure aggregation needs train.update_clip_norm > 0 ([training] update_clip_norm): the round's "
                 "shared quantization scale is derived from it");
    }
    if (o.client_dp && o.client_dp->adaptive) {
      return bad("secure aggregation does not support adaptive client-DP clipping (it needs each device's clipped "
                 "bit in the clear); set client_dp.adaptive = false");
    }
  }
  return absl::OkStatus();
}

}  // namespace fedge
