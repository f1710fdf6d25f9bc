#include "coordinator/coordinator_metrics.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fedge {
namespace {

// Round durations: a test round takes seconds, a fleet round minutes to hours.
const std::vector<double> kRoundSecondsBounds = {1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200};

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  return values[mid];
}

}  // namespace

CoordinatorMetrics::CoordinatorMetrics(metrics::Registry* registry, CoordinatorMetricsOptions options,
                                       std::function<proto::StatusResponse()> status, Clock* clock)
    : options_(options),
      status_(std::move(status)),
      clock_(clock),
      rounds_(registry->AddCounter("fedge_rounds_total", "Completed rounds, by outcome (succeeded or failed).",
                                   {"outcome"})),
      round_seconds_(registry->AddHistogram("fedge_round_duration_seconds",
                                            "Wall time from a round's opening to its close, by outcome.",
                                            kRoundSecondsBounds, {"outcome"})),
      accepted_(registry->AddCounter("fedge_updates_accepted_total", "Device updates counted in an aggregate.")),
      rejected_(registry->AddCounter("fedge_updates_rejected_total",
                                     "Device updates refused, by reason (RoundRecord.rejections).", {"reason"})),
      late_(registry->AddCounter("fedge_updates_late_total",
                                 "Tasks issued whose update did not arrive before the round closed.")),
      bytes_(registry->AddCounter("fedge_transfer_bytes_total",
                                  "Model bytes sent to devices (down) and update bytes received (up).",
                                  {"direction"})),
      drift_alarms_(registry->AddCounter("fedge_drift_alarms_total", "Drift alarms devices reported.")),
      current_round_(registry->AddGauge("fedge_round_current", "The open round (or the last one started).")),
      model_version_(registry->AddGauge("fedge_model_version", "The served global model version.")),
      deployed_version_(registry->AddGauge("fedge_deployed_model_version",
                                           "The newest deployed INT8 model version (0: none).")),
      global_metric_(registry->AddGauge("fedge_global_metric",
                                        "Evaluation metrics of the last completed round (e.g. test_accuracy).",
                                        {"name"})),
      devices_(registry->AddGauge("fedge_devices",
                                  "Registered devices by status: active (heard from recently and eligible), "
                                  "ineligible (heard from, declining work), offline (silent past the threshold), "
                                  "pending (enrolled, awaiting approval), revoked.",
                                  {"status"})),
      devices_serving_(registry->AddGauge("fedge_devices_serving",
                                          "Devices by the deployed INT8 model version they report serving "
                                          "(0: none).",
                                          {"version"})),
      devices_training_(registry->AddGauge("fedge_devices_training",
                                           "Devices by the global model version their last accepted update was "
                                           "trained on (0: none yet).",
                                           {"version"})),
      devices_drifting_(registry->AddGauge("fedge_devices_drifting",
                                           "Devices that raised a drift alarm since their last accepted update.")),
      epsilon_(registry->AddGauge("fedge_device_epsilon",
                                  "Privacy spent by devices (epsilon they report): max and median over devices "
                                  "that spent any.",
                                  {"stat"})),
      epsilon_budget_(registry->AddGauge("fedge_device_epsilon_budget",
                                         "The federation's lifetime epsilon per device ([dp] device_epsilon; "
                                         "0: none).")),
      rollout_state_(registry->AddGauge("fedge_rollout_state",
                                        "The staged rollout of the deployed model: 1 for its state (none, running, "
                                        "paused, completed, aborted), 0 for the others.",
                                        {"state"})),
      rollout_stage_(registry->AddGauge("fedge_rollout_stage",
                                        "The staged rollout's current stage, 1-based (0: no rollout).")),
      rollout_version_(registry->AddGauge("fedge_rollout_version",
                                          "The deployed model version being (or last) rolled out (0: none).")),
      rollouts_aborted_(registry->AddCounter("fedge_rollouts_aborted_total",
                                             "Rollouts aborted and rolled back (failure threshold or an operator).")) {
  epsilon_budget_.Get().Set(options_.epsilon_budget);
  rollouts_aborted_.Get();
  for (const char* outcome : {"succeeded", "failed"}) rounds_.WithLabels({outcome});
  for (const char* direction : {"down", "up"}) bytes_.WithLabels({direction});
  accepted_.Get();
  late_.Get();
  drift_alarms_.Get();
  registry->AddScrapeHook([this] { Collect(); });
}

void CoordinatorMetrics::ObserveRound(const proto::RoundRecord& r) {
  const std::string outcome = r.succeeded() ? "succeeded" : "failed";
  rounds_.WithLabels({outcome}).Increment();
  if (r.closed_unix_micros() > r.started_unix_micros() && r.started_unix_micros() > 0) {
    round_seconds_.WithLabels({outcome}).Observe(static_cast<double>(r.closed_unix_micros() - r.started_unix_micros()) /
                                                 1e6);
  }
  accepted_.Get().Increment(r.accepted());
  for (const auto& [reason, n] : r.rejections()) rejected_.WithLabels({reason}).Increment(n);
  late_.Get().Increment(r.late());
  bytes_.WithLabels({"down"}).Increment(static_cast<double>(r.bytes_down()));
  bytes_.WithLabels({"up"}).Increment(static_cast<double>(r.bytes_up()));
  drift_alarms_.Get().Increment(r.drift_alarms());
  if (r.succeeded()) {
    for (const auto& [name, value] : r.metrics()) {
      if (name.rfind("test_", 0) == 0) global_metric_.WithLabels({name}).Set(value);
    }
  }
}

void CoordinatorMetrics::Collect() {
  absl::MutexLock lock(&collect_mu_);
  const proto::StatusResponse s = status_();
  current_round_.Get().Set(static_cast<double>(s.current_round()));
  model_version_.Get().Set(static_cast<double>(s.model_version()));
  deployed_version_.Get().Set(static_cast<double>(s.deployed_model_version()));

  const int64_t now = absl::ToUnixMicros(clock_->Now());
  const int64_t offline_micros = absl::ToInt64Microseconds(options_.offline_after);
  double active = 0, ineligible = 0, offline = 0, pending = 0, revoked = 0, drifting = 0;
  std::vector<double> epsilons;
  devices_serving_.SetAll(0);
  devices_training_.SetAll(0);
  for (const proto::DeviceSummary& d : s.devices()) {
    // Not part of the working fleet: counted, nothing more.
    if (d.status() == proto::DEVICE_STATUS_PENDING || d.status() == proto::DEVICE_STATUS_REVOKED) {
      ++(d.status() == proto::DEVICE_STATUS_PENDING ? pending : revoked);
      continue;
    }
    if (now - d.last_seen_unix_micros() > offline_micros) {
      ++offline;
    } else if (!d.eligible()) {
      ++ineligible;
    } else {
      ++active;
    }
    devices_serving_.WithLabels({absl::StrCat(d.inference_model_version())}).Add(1);
    devices_training_.WithLabels({absl::StrCat(d.training_model_version())}).Add(1);
    if (d.epsilon_spent() > 0) epsilons.push_back(d.epsilon_spent());
  }
  for (const proto::DeviceDrift& d : s.drift()) drifting += d.drifting();
  devices_.WithLabels({"active"}).Set(active);
  devices_.WithLabels({"ineligible"}).Set(ineligible);
  devices_.WithLabels({"offline"}).Set(offline);
  devices_.WithLabels({"pending"}).Set(pending);
  devices_.WithLabels({"revoked"}).Set(revoked);
  devices_drifting_.Get().Set(drifting);
  epsilon_.WithLabels({"max"}).Set(epsilons.empty() ? 0 : *std::max_element(epsilons.begin(), epsilons.end()));
  epsilon_.WithLabels({"median"}).Set(Median(std::move(epsilons)));
  CollectRollout();
}

void CoordinatorMetrics::CollectRollout() {
  const proto::RolloutStatus r = options_.rollout ? options_.rollout() : proto::RolloutStatus();
  const std::pair<proto::RolloutState, const char*> states[] = {
      {proto::ROLLOUT_NONE, "none"},
      {proto::ROLLOUT_RUNNING, "running"},
      {proto::ROLLOUT_PAUSED, "paused"},
      {proto::ROLLOUT_COMPLETED, "completed"},
      {proto::ROLLOUT_ABORTED, "aborted"}};
  for (const auto& [state, name] : states) rollout_state_.WithLabels({name}).Set(r.state() == state ? 1 : 0);
  rollout_stage_.Get().Set(r.state() == proto::ROLLOUT_NONE ? 0 : r.stage() + 1);
  rollout_version_.Get().Set(static_cast<double>(r.version()));
  if (r.state() == proto::ROLLOUT_ABORTED && r.version() != counted_abort_) {
    counted_abort_ = r.version();
    rollouts_aborted_.Get().Increment();
  }
}

}  // namespace fedge
