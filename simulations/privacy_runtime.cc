#include "simulations/privacy_runtime.h"

#include <stdlib.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "simulations/round_metric.h"

namespace fedge {
namespace {

constexpr uint64_t kClientNoiseStream = 0x636c69656e74ULL;
constexpr uint64_t kDeviceNoiseStream = 0x6470736764ULL;

}  // namespace

int64_t ExpectedSampledPerRound(const Scenario& s) {
  const int64_t n = s.population.num_devices;
  const int64_t target =
      s.selection.fraction > 0
          ? std::max<int64_t>(1, static_cast<int64_t>(std::ceil(s.selection.fraction * static_cast<double>(n))))
          : s.selection.devices_per_round;
  const auto sampled = static_cast<int64_t>(std::ceil(static_cast<double>(target) * s.selection.over_selection));
  return std::min(n, std::max<int64_t>(1, sampled));
}

PrivacyRuntime::PrivacyRuntime(const Scenario& scenario, std::vector<std::string> device_ids)
    : scenario_(scenario),
      device_ids_(std::move(device_ids)),
      client_noise_(DeriveSeed(scenario.seed, kClientNoiseStream)) {}

PrivacyRuntime::~PrivacyRuntime() {
  if (!ledger_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(ledger_dir_, ignored);
  }
}

absl::StatusOr<std::unique_ptr<PrivacyRuntime>> PrivacyRuntime::Create(const Scenario& scenario,
                                                                       std::vector<std::string> device_ids) {
  std::unique_ptr<PrivacyRuntime> runtime(new PrivacyRuntime(scenario, std::move(device_ids)));
  if (scenario.dp.enabled) {
    std::string dir = (std::filesystem::temp_directory_path() / "fedge-sim-ledgers-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      return absl::UnavailableError("cannot create a temporary folder for the devices' privacy ledgers");
    }
    runtime->ledger_dir_ = dir;
  }
  return runtime;
}

void PrivacyRuntime::Configure(FederationOptions& o) {
  if (scenario_.dp.enabled) {
    o.train.set_dp_noise_multiplier(scenario_.dp.noise_multiplier);
    o.train.set_dp_clip_norm(scenario_.dp.clip_norm);
  }
  if (scenario_.client_dp.enabled) {
    const ClientDpSettings& c = scenario_.client_dp;
    o.client_dp = ClientDpOptions{
        .clip_norm = c.clip_norm,
        .noise_multiplier = c.noise_multiplier,
        .device_sampling_rate = static_cast<double>(ExpectedSampledPerRound(scenario_)) /
                                static_cast<double>(scenario_.population.num_devices),
        .adaptive = c.adaptive,
        .target_quantile = c.target_quantile,
        .clip_learning_rate = c.clip_learning_rate,
        .count_noise = c.count_noise,
    };
    o.client_dp_delta = c.delta;
    o.dp_random = &client_noise_;
  }
}

absl::StatusOr<DevicePrivacy> PrivacyRuntime::Materialise(const std::string& device_id, uint64_t device_seed,
                                                         uint64_t round) {
  DevicePrivacy device;
  device.device_id = device_id;
  device.noise = std::make_unique<DeterministicRandom>(DeriveSeed(DeriveSeed(device_seed, kDeviceNoiseStream), round));
  if (!ledger_dir_.empty()) {
    // Without a lifetime budget the ledger still measures: its budget is
    // then effectively unbounded.
    const PrivacyBudget budget{.epsilon = scenario_.dp.device_epsilon > 0 ? scenario_.dp.device_epsilon : DBL_MAX,
                               .delta = scenario_.dp.delta};
    FEDGE_ASSIGN_OR_RETURN(device.ledger,
                           PrivacyLedger::Open(absl::StrCat(ledger_dir_, "/", device_id, ".ledger"), budget));
  }
  return device;
}

void PrivacyRuntime::Release(const DevicePrivacy& device) {
  if (device.ledger == nullptr) return;
  const double epsilon = device.ledger->Epsilon();
  absl::MutexLock lock(&mu_);
  spent_[device.device_id] = epsilon;
}

void PrivacyRuntime::FillRow(const proto::RoundRecord& record, RoundRow& row) const {
  if (scenario_.dp.enabled && !device_ids_.empty()) {
    std::vector<double> spent;
    spent.reserve(device_ids_.size());
    {
      absl::MutexLock lock(&mu_);
      for (const std::string& id : device_ids_) {
        auto it = spent_.find(id);
        spent.push_back(it == spent_.end() ? 0.0 : it->second);
      }
    }
    std::sort(spent.begin(), spent.end());
    const size_t n = spent.size();
    row.epsilon_device_median = n % 2 == 1 ? spent[n / 2] : 0.5 * (spent[n / 2 - 1] + spent[n / 2]);
    row.epsilon_device_max = spent.back();
  }
  row.client_epsilon = RoundMetric(record, "client_epsilon", row.client_epsilon);
}

}  // namespace fedge
