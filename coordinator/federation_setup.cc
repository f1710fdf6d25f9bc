#include "coordinator/federation_setup.h"

namespace fedge {
namespace {

proto::TrainConfig MakeTrainConfig(const FederationSettings& s) {
  const FederationSettings::Training& t = s.training;
  proto::TrainConfig c;
  c.set_local_epochs(t.local_epochs);
  c.set_batch_size(t.batch_size);
  c.set_learning_rate(t.learning_rate);
  c.set_momentum(t.momentum);
  c.set_weight_decay(t.weight_decay);
  c.set_optimizer(t.optimizer);
  c.set_codec(t.codec);
  c.set_max_examples(t.max_examples);
  c.set_update_clip_norm(t.update_clip_norm);
  if (s.dp.enabled) {
    c.set_dp_noise_multiplier(s.dp.noise_multiplier);
    c.set_dp_clip_norm(s.dp.clip_norm);
    c.set_dp_epsilon_budget(s.dp.device_epsilon);
  }
  return c;
}

}  // namespace

FederationOptions MakeFederationOptions(const FederationSettings& s, int64_t population) {
  const FederationSettings::Federation& f = s.federation;
  FederationOptions o;
  o.model_id = s.name;
  o.architecture = s.model.name;
  o.max_rounds = f.rounds;
  o.min_devices = f.min_devices;
  o.devices_per_round = f.devices_per_round;
  o.fraction = f.fraction;
  o.over_selection = f.over_selection;
  o.min_quorum = f.min_quorum;
  o.round_deadline = absl::Seconds(f.round_deadline_s);
  o.poll_interval = absl::Milliseconds(f.poll_interval_ms);
  o.evaluate_every = f.evaluate_every;
  o.seed = SeedFor(s, SeedStream::kSelection);
  o.download_chunk_bytes = static_cast<uint32_t>(f.download_chunk_bytes);
  o.limits.max_l2_norm = f.max_update_norm;
  o.limits.max_examples = static_cast<uint64_t>(f.max_examples);
  o.favour_drifting = f.favour_drifting;
  o.extra_round_drift_fraction = f.extra_round_drift_fraction;
  o.max_extra_rounds = f.max_extra_rounds;
  o.train = MakeTrainConfig(s);
  if (s.async_mode()) {
    o.async = AsyncOptions{.enabled = true,
                           .buffer_size = s.async.buffer_size,
                           .staleness = {.exponent = s.async.staleness_exponent,
                                         .max_staleness = s.async.max_staleness},
                           .max_concurrent = s.async.max_concurrent};
  }
  if (s.client_dp.enabled) {
    const ClientDpSettings& c = s.client_dp;
    o.client_dp = ClientDpOptions{
        .clip_norm = c.clip_norm,
        .noise_multiplier = c.noise_multiplier,
        .device_sampling_rate = DeviceSamplingRate(s, population),
        .adaptive = c.adaptive,
        .target_quantile = c.target_quantile,
        .clip_learning_rate = c.clip_learning_rate,
        .count_noise = c.count_noise,
    };
    o.client_dp_delta = c.delta;
  }
  o.secagg = SecAggOptions{.enabled = s.secagg.enabled,
                            .neighbours = static_cast<uint32_t>(s.secagg.neighbours),
                            .threshold = static_cast<uint32_t>(s.secagg.threshold),
                            .stage_timeout = absl::Seconds(s.secagg.stage_timeout_s),
                            .coordinate_range = s.secagg.coordinate_range};
  o.deploy_every = s.deploy.every_rounds;
  o.test_degrade_from_version = static_cast<uint64_t>(s.deploy.test_degrade_from_version);
  o.rollout.enabled = s.rollout.enabled;
  o.rollout.stages.clear();
  for (size_t i = 0; i < s.rollout.fractions.size(); ++i) {
    o.rollout.stages.push_back({.fraction = s.rollout.fractions[i],
                                .min_devices = i < s.rollout.min_devices.size()
                                                   ? static_cast<int64_t>(s.rollout.min_devices[i])
                                                   : 1,
                                .soak = i < s.rollout.soak_s.size() ? absl::Seconds(s.rollout.soak_s[i])
                                                                    : absl::ZeroDuration()});
  }
  o.rollout.max_failure_share = s.rollout.max_failure_share;
  o.rollout.min_accuracy = s.rollout.min_accuracy;
  o.rollout.max_inference_error_share = s.rollout.max_inference_error_share;
  o.rollout.max_drift_increase = s.rollout.max_drift_increase;
  return o;
}

}  // namespace fedge
