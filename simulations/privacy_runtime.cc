#include "simulations/privacy_runtime.h"

#include <stdlib.h>

#include <cfloat>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "simulations/round_metric.h"

namespace fedge {
namespace {

constexpr uint64_t kClientNoiseStream = 0x636c69656e74ULL;
constexpr uint64_t kDeviceNoiseStream = 0x6470736764ULL;

}  // namespace

PrivacyRuntime::PrivacyRuntime(const Scenario& scenario, std::vector<std::string> device_ids)
    : scenario_(scenario),
      device_ids_(std::move(device_ids)),
      client_noise_(DeriveSeed(scenario.seed, kClientNoiseStream)) {}

PrivacyRuntime::~PrivacyRuntime() {
  if (owns_ledger_dir_) {
    std::error_code ignored;
    std::filesystem::remove_all(ledger_dir_, ignored);
  }
}

absl::StatusOr<std::unique_ptr<PrivacyRuntime>> PrivacyRuntime::Create(const Scenario& scenario,
                                                                       std::vector<std::string> device_ids,
                                                                       const std::string& ledger_dir) {
  std::unique_ptr<PrivacyRuntime> runtime(new PrivacyRuntime(scenario, std::move(device_ids)));
  if (!scenario.dp.enabled) return runtime;
  if (!ledger_dir.empty()) {
    runtime->ledger_dir_ = ledger_dir;
    // A resumed run: what the devices' ledgers hold is what they spent.
    for (const std::string& id : runtime->device_ids_) {
      if (!std::filesystem::exists(absl::StrCat(ledger_dir, "/", id, ".ledger"))) continue;
      FEDGE_ASSIGN_OR_RETURN(DevicePrivacy device, runtime->Materialise(id, 0, 0));
      runtime->Release(device);
    }
    return runtime;
  }
  std::string dir = (std::filesystem::temp_directory_path() / "fedge-sim-ledgers-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::UnavailableError("cannot create a temporary folder for the devices' privacy ledgers");
  }
  runtime->ledger_dir_ = dir;
  runtime->owns_ledger_dir_ = true;
  return runtime;
}

void PrivacyRuntime::Configure(FederationOptions& o) {
  if (o.client_dp) o.dp_random = &client_noise_;
}

uint64_t DeviceNoiseSeed(uint64_t device_seed, uint64_t round) {
  return DeriveSeed(DeriveSeed(device_seed, kDeviceNoiseStream), round);
}

absl::StatusOr<DevicePrivacy> PrivacyRuntime::Materialise(const std::string& device_id, uint64_t device_seed,
                                                         uint64_t round) {
  DevicePrivacy device;
  device.device_id = device_id;
  device.noise = std::make_unique<DeterministicRandom>(DeviceNoiseSeed(device_seed, round));
  if (!ledger_dir_.empty()) {
    // The ledger only measures: the budget travels in every task
    // (dp_epsilon_budget), and the Device enforces it as on a real device.
    const PrivacyBudget budget{.epsilon = DBL_MAX, .delta = scenario_.dp.delta};
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
