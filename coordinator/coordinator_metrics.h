// File: coordinator/coordinator_metrics.h
//
// What a fedge coordinator tells Prometheus (metrics/registry.h): counters
// fed by the records of completed rounds, and gauges set at scrape time
// from a status snapshot (Federation::GetStatus with devices), so the round
// engine itself carries no metrics code. Every name starts with "fedge_";
// docs/operations.md lists them, and deploy/prometheus/ has alert rules over
// them.
//
// Usage (fedge-coordinator --metrics-listen):
//   metrics::Registry registry;
//   CoordinatorMetrics metrics(&registry, {.offline_after = absl::Minutes(10)},
//                              [&] { return federation->GetStatus(/*include_devices=*/true); }, Clock::Real());
//   server_options.on_round = [&](const proto::RoundRecord& r) { metrics.ObserveRound(r); };
//
// Thread-safety: ObserveRound may be called concurrently with scrapes.
#ifndef FEDGE_COORDINATOR_COORDINATOR_METRICS_H_
#define FEDGE_COORDINATOR_COORDINATOR_METRICS_H_

#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/env.h"
#include "metrics/registry.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct CoordinatorMetricsOptions {
  // A device not heard from for this long counts as offline.
  absl::Duration offline_after = absl::Minutes(10);
  // The federation's lifetime epsilon per device ([dp] device_epsilon),
  // exported so alerts can compare spending with it; 0: none.
  double epsilon_budget = 0;
  // The staged rollout's state (Federation::GetRollout), read at scrape
  // time; null: the rollout gauges stay at "none".
  std::function<proto::RolloutStatus()> rollout = nullptr;
};

class CoordinatorMetrics {
 public:
  // Adds the coordinator's families to `registry` and a scrape hook that
  // calls `status` (borrowed callables must outlive the registry's use).
  CoordinatorMetrics(metrics::Registry* registry, CoordinatorMetricsOptions options,
                     std::function<proto::StatusResponse()> status, Clock* clock);
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

  // Counts one completed round (call once per record, e.g. from
  // CoordinatorServerOptions::on_round).
  void ObserveRound(const proto::RoundRecord& record);

 private:
  // Sets the gauges from a fresh status snapshot. Serialised: gauges are
  // zeroed then summed per device, so two scrapes must not interleave.
  void Collect() ABSL_LOCKS_EXCLUDED(collect_mu_);

  absl::Mutex collect_mu_;
  const CoordinatorMetricsOptions options_;
  const std::function<proto::StatusResponse()> status_;
  Clock* const clock_;

  metrics::Family<metrics::Counter>& rounds_;
  metrics::Family<metrics::Histogram>& round_seconds_;
  metrics::Family<metrics::Counter>& accepted_;
  metrics::Family<metrics::Counter>& rejected_;
  metrics::Family<metrics::Counter>& late_;
  metrics::Family<metrics::Counter>& bytes_;
  metrics::Family<metrics::Counter>& drift_alarms_;
  metrics::Family<metrics::Gauge>& current_round_;
  metrics::Family<metrics::Gauge>& model_version_;
  metrics::Family<metrics::Gauge>& deployed_version_;
  metrics::Family<metrics::Gauge>& global_metric_;
  metrics::Family<metrics::Gauge>& devices_;
  metrics::Family<metrics::Gauge>& devices_serving_;
  metrics::Family<metrics::Gauge>& devices_training_;
  metrics::Family<metrics::Gauge>& devices_drifting_;
  metrics::Family<metrics::Gauge>& epsilon_;
  metrics::Family<metrics::Gauge>& epsilon_budget_;
  metrics::Family<metrics::Gauge>& rollout_state_;
  metrics::Family<metrics::Gauge>& rollout_stage_;
  metrics::Family<metrics::Gauge>& rollout_version_;
  metrics::Family<metrics::Counter>& rollouts_aborted_;
  // The version whose abort was last counted (an abort is seen by the
  // scrapes that follow it; each one counts once).
  uint64_t counted_abort_ ABSL_GUARDED_BY(collect_mu_) = 0;
  void CollectRollout() ABSL_EXCLUSIVE_LOCKS_REQUIRED(collect_mu_);
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_COORDINATOR_METRICS_H_
