#include "coordinator/rollout.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fedge {
namespace {

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }

std::string Percent(double share) { return absl::StrFormat("%g%%", 100 * share); }

bool IsFailure(proto::ModelHealthOutcome outcome) {
  return outcome == proto::MODEL_HEALTH_REFUSED || outcome == proto::MODEL_HEALTH_LOAD_FAILED ||
         outcome == proto::MODEL_HEALTH_CHECK_FAILED;
}

const char* OutcomeName(proto::ModelHealthOutcome outcome) {
  switch (outcome) {
    case proto::MODEL_HEALTH_REFUSED: return "refused verification";
    case proto::MODEL_HEALTH_LOAD_FAILED: return "load failure";
    case proto::MODEL_HEALTH_CHECK_FAILED: return "health check failed";
    default: return "ok";
  }
}

}  // namespace

std::vector<RolloutStageOptions> DefaultRolloutStages() {
  return {{.fraction = 0.01, .min_devices = 1, .soak = absl::Minutes(30)},
          {.fraction = 0.10, .min_devices = 10, .soak = absl::Hours(1)},
          {.fraction = 0.50, .min_devices = 50, .soak = absl::Hours(1)},
          {.fraction = 1.00, .min_devices = 0, .soak = absl::ZeroDuration()}};
}

absl::Status ValidateRolloutOptions(const RolloutOptions& o) {
  const auto bad = [](std::string m) { return absl::InvalidArgumentError(absl::StrCat("rollout: ", m)); };
  if (o.stages.empty()) return bad("at least one stage is needed (the last admits every device)");
  double previous = 0;
  for (size_t i = 0; i < o.stages.size(); ++i) {
    const RolloutStageOptions& s = o.stages[i];
    if (!(s.fraction > 0 && s.fraction <= 1)) return bad(absl::StrCat("stage ", i, ": fraction must be in (0, 1]"));
    if (s.fraction < previous) return bad(absl::StrCat("stage ", i, ": fractions must not decrease"));
    if (s.min_devices < 0) return bad(absl::StrCat("stage ", i, ": min_devices must be >= 0"));
    if (s.soak < absl::ZeroDuration()) return bad(absl::StrCat("stage ", i, ": soak must be >= 0"));
    previous = s.fraction;
  }
  if (o.stages.back().fraction != 1) return bad("the last stage's fraction must be 1 (every device)");
  if (!(o.max_failure_share >= 0 && o.max_failure_share < 1)) return bad("max_failure_share must be in [0, 1)");
  if (!(o.min_accuracy >= 0 && o.min_accuracy <= 1)) return bad("min_accuracy must be in [0, 1]");
  if (!(o.max_inference_error_share >= 0 && o.max_inference_error_share <= 1)) {
    return bad("max_inference_error_share must be in [0, 1]");
  }
  if (!(o.max_drift_increase >= 0)) return bad("max_drift_increase must be >= 0");
  return absl::OkStatus();
}

// FNV-1a, then a SplitMix64 finaliser so that ids differing in their last
// character spread over the whole range.
double RolloutHash(std::string_view device_id) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : device_id) h = (h ^ c) * 1099511628211ull;
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

Rollout::Rollout(RolloutOptions options) : options_(std::move(options)) {
  status_.set_max_failure_share(options_.max_failure_share);
  for (const RolloutStageOptions& s : options_.stages) {
    proto::RolloutStage* stage = status_.add_stages();
    stage->set_fraction(s.fraction);
    stage->set_min_devices(static_cast<uint32_t>(s.min_devices));
    stage->set_soak_seconds(absl::ToInt64Seconds(s.soak));
  }
}

absl::Status Rollout::Restore(const proto::StoredRollout& stored) {
  if (!proto::RolloutState_IsValid(stored.status().state())) {
    return absl::InvalidArgumentError("the stored rollout names an unknown state");
  }
  const google::protobuf::RepeatedPtrField<proto::RolloutStage> stages = status_.stages();
  status_ = stored.status();
  *status_.mutable_stages() = stages;
  status_.set_max_failure_share(options_.max_failure_share);
  const uint32_t last = static_cast<uint32_t>(options_.stages.size() - 1);
  status_.set_stage(std::min(status_.stage(), last));
  threshold_ = std::clamp(stored.threshold(), 0.0, 1.0);
  baseline_drift_share_ = std::clamp(stored.baseline_drift_share(), 0.0, 1.0);
  health_.clear();
  return absl::OkStatus();
}

proto::StoredRollout Rollout::ToStored() const {
  proto::StoredRollout stored;
  *stored.mutable_status() = status_;
  stored.mutable_status()->clear_stages();
  stored.set_threshold(threshold_);
  stored.set_baseline_drift_share(baseline_drift_share_);
  return stored;
}

bool Rollout::active() const {
  return status_.state() == proto::ROLLOUT_RUNNING || status_.state() == proto::ROLLOUT_PAUSED;
}

uint64_t Rollout::stable_version() const {
  return status_.state() == proto::ROLLOUT_COMPLETED ? status_.version() : status_.previous_version();
}

void Rollout::Start(uint64_t version, uint64_t previous, double baseline_drift_share,
                    const std::vector<std::string>& devices, absl::Time now) {
  status_.set_state(proto::ROLLOUT_RUNNING);
  status_.set_version(version);
  status_.set_previous_version(previous);
  threshold_ = 0;
  baseline_drift_share_ = baseline_drift_share;
  health_.clear();
  status_.set_reason(absl::StrCat("started rolling out version ", version, " (previous ", previous, "); ",
                                  EnterStage(0, devices, now)));
}

bool Rollout::InCohort(std::string_view device_id) const { return RolloutHash(device_id) < threshold_; }

uint64_t Rollout::VersionFor(std::string_view device_id) const {
  switch (status_.state()) {
    case proto::ROLLOUT_RUNNING:
    case proto::ROLLOUT_PAUSED: return InCohort(device_id) ? status_.version() : status_.previous_version();
    default: return stable_version();
  }
}

std::string Rollout::EnterStage(uint32_t stage, const std::vector<std::string>& devices, absl::Time now) {
  const RolloutStageOptions& s = options_.stages[stage];
  double threshold = std::max(threshold_, s.fraction >= 1 ? 1.0 : s.fraction);
  if (s.min_devices > 0 && !devices.empty()) {
    std::vector<double> hashes;
    hashes.reserve(devices.size());
    for (const std::string& id : devices) hashes.push_back(RolloutHash(id));
    const size_t k = std::min(devices.size(), static_cast<size_t>(s.min_devices)) - 1;
    std::nth_element(hashes.begin(), hashes.begin() + static_cast<ptrdiff_t>(k), hashes.end());
    threshold = std::max(threshold, std::nextafter(hashes[k], 2.0));
  }
  threshold_ = std::min(threshold, 1.0);
  status_.set_stage(stage);
  status_.set_stage_started_unix_micros(ToMicros(now));
  Count(devices);
  return absl::StrCat("stage ", stage + 1, "/", options_.stages.size(), " (", Percent(s.fraction), ", ",
                      status_.cohort_devices(), " devices)");
}

std::string Rollout::Abort(std::string reason) {
  status_.set_state(proto::ROLLOUT_ABORTED);
  status_.set_reason(std::move(reason));
  return absl::StrCat("rollout of version ", status_.version(), " aborted, every device returns to version ",
                      status_.previous_version(), ": ", status_.reason());
}

std::string Rollout::FailureOf(const RolloutSample& sample, DeviceHealth& health) const {
  const proto::ModelHealth& h = sample.health;
  if (h.version() == status_.version()) {
    if (IsFailure(h.outcome())) {
      return h.detail().empty() ? OutcomeName(h.outcome()) : absl::StrCat(OutcomeName(h.outcome()), ": ", h.detail());
    }
    if (h.has_accuracy() && options_.min_accuracy > 0 && h.accuracy() < options_.min_accuracy) {
      return absl::StrFormat("held-back accuracy %.3f < %.3f", h.accuracy(), options_.min_accuracy);
    }
  }
  if (sample.serving != status_.version()) return "";
  // Counters are cumulative since the device started: count from the first
  // report that serves this version.
  if (!health.baseline_set || sample.inference_requests < health.requests0) {
    health.baseline_set = true;
    health.requests0 = sample.inference_requests;
    health.errors0 = sample.inference_errors;
    return "";
  }
  const double requests = sample.inference_requests - health.requests0;
  const double errors = sample.inference_errors - health.errors0;
  if (requests >= kMinInferenceRequests && errors / requests > options_.max_inference_error_share) {
    return absl::StrFormat("inference errors on %.1f%% of %.0f requests", 100 * errors / requests, requests);
  }
  return "";
}

void Rollout::Observe(std::string_view device_id, const RolloutSample& sample) {
  if (!active() || !InCohort(device_id)) return;
  auto it = health_.find(device_id);
  if (it == health_.end()) it = health_.emplace(std::string(device_id), DeviceHealth{}).first;
  DeviceHealth& health = it->second;
  if (health.failed) return;  // a failure sticks for this version
  if (std::string failure = FailureOf(sample, health); !failure.empty()) {
    health.failed = true;
    health.healthy = false;
    health.reason = std::move(failure);
    return;
  }
  const bool serving = sample.serving == status_.version();
  health.healthy = serving;
  if (serving && sample.drift_alarm) health.drifted = true;
}

void Rollout::Count(const std::vector<std::string>& devices) {
  uint32_t cohort = 0, healthy = 0, failed = 0;
  drifted_ = 0;
  for (const std::string& id : devices) {
    if (!InCohort(id)) continue;
    ++cohort;
    auto it = health_.find(id);
    if (it == health_.end()) continue;
    healthy += it->second.healthy;
    failed += it->second.failed;
    drifted_ += it->second.drifted && !it->second.failed;
  }
  status_.set_cohort_devices(cohort);
  status_.set_healthy(healthy);
  status_.set_failed(failed);
}

std::optional<std::string> Rollout::Evaluate(const std::vector<std::string>& devices, absl::Time now) {
  if (!active()) return std::nullopt;
  Count(devices);
  if (status_.state() != proto::ROLLOUT_RUNNING) return std::nullopt;
  const RolloutStageOptions& stage = options_.stages[status_.stage()];
  const uint32_t cohort = status_.cohort_devices();
  const uint32_t needed = std::max<uint32_t>(1, std::min<uint32_t>(static_cast<uint32_t>(stage.min_devices), cohort));
  const uint32_t reported = status_.healthy() + status_.failed();
  if (reported >= needed && reported > 0) {
    const double failure_share = static_cast<double>(status_.failed()) / reported;
    if (failure_share > options_.max_failure_share) {
      std::string example;
      for (const auto& [id, h] : health_) {
        if (h.failed) {
          example = absl::StrCat(" (", id, ": ", h.reason, ")");
          break;
        }
      }
      return Abort(absl::StrFormat("%u of %u reporting devices failed (%s > %s)%s", status_.failed(), reported,
                                   Percent(failure_share), Percent(options_.max_failure_share), example));
    }
    const double drift_share = static_cast<double>(drifted_) / reported;
    if (drift_share > baseline_drift_share_ + options_.max_drift_increase) {
      return Abort(absl::StrFormat("%u of %u devices serving it raised drift alarms (%s, %s before the rollout)",
                                   drifted_, reported, Percent(drift_share), Percent(baseline_drift_share_)));
    }
  }
  const bool soaked = now - absl::FromUnixMicros(status_.stage_started_unix_micros()) >= stage.soak;
  if (!soaked || cohort == 0 || status_.healthy() < needed) return std::nullopt;
  return Control(proto::RolloutControlRequest::PROMOTE, devices, now).value();
}

absl::StatusOr<std::string> Rollout::Control(proto::RolloutControlRequest::Action action,
                                             const std::vector<std::string>& devices, absl::Time now) {
  const proto::RolloutState state = status_.state();
  const auto refuse = [&](std::string_view what) {
    return absl::FailedPreconditionError(absl::StrCat("cannot ", std::string(what), ": the rollout is ",
                                                      proto::RolloutState_Name(state), " (fedgectl rollout status)"));
  };
  switch (action) {
    case proto::RolloutControlRequest::PAUSE:
      if (state != proto::ROLLOUT_RUNNING) return refuse("pause");
      status_.set_state(proto::ROLLOUT_PAUSED);
      status_.set_reason("paused by an operator");
      return absl::StrCat("rollout of version ", status_.version(), " paused");
    case proto::RolloutControlRequest::RESUME:
      if (state != proto::ROLLOUT_PAUSED) return refuse("resume");
      status_.set_state(proto::ROLLOUT_RUNNING);
      status_.set_reason("resumed by an operator");
      return absl::StrCat("rollout of version ", status_.version(), " resumed");
    case proto::RolloutControlRequest::PROMOTE: {
      if (!active()) return refuse("promote");
      const uint32_t next = status_.stage() + 1;
      if (next >= options_.stages.size()) {
        status_.set_state(proto::ROLLOUT_COMPLETED);
        threshold_ = 1;
        status_.set_reason(absl::StrCat("version ", status_.version(), " serves every device"));
        return absl::StrCat("rollout of version ", status_.version(), " completed");
      }
      status_.set_reason(absl::StrCat("advanced to ", EnterStage(next, devices, now)));
      return absl::StrCat("rollout of version ", status_.version(), " ", status_.reason());
    }
    case proto::RolloutControlRequest::ROLLBACK:
      if (state == proto::ROLLOUT_ABORTED || state == proto::ROLLOUT_NONE) return refuse("roll back");
      if (status_.previous_version() == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot roll back version ", status_.version(), ": no earlier deployed version to return to"));
      }
      return Abort("rolled back by an operator");
    default:
      return absl::InvalidArgumentError("rollout action missing: pause, resume, promote or rollback");
  }
}

proto::RolloutStatus Rollout::Status() const { return status_; }

}  // namespace fedge
