// File: simulations/privacy_runtime.h
//
// `PrivacyRuntime` gives the simulated devices and coordinator what a real
// deployment has for the scenario's [dp] and [client_dp] tables (turned into
// task and Federation options by coordinator/federation_setup.h, as in
// fedge-coordinator), and measures what the run spends:
//
//   - [dp]: each materialised device gets its own PrivacyLedger
//     (privacy/privacy_ledger.h), stored in a temporary folder owned by the
//     runtime and reopened every round the device is materialised; the
//     Device enforces the task's dp_epsilon_budget (`device_epsilon`)
//     against it over the whole run;
//   - [client_dp]: the seeded noise source of FederationOptions::client_dp.
//
// Noise is drawn from DeterministicRandom streams derived from the scenario
// seed (per device and round for DP-SGD, one for client DP), NOT from the
// system CSPRNG: a simulation must be reproducible, and its data is public.
//
// Per round it reports `epsilon_device_median` / `epsilon_device_max` (over
// the whole population, devices that never trained counting 0) and the
// coordinator's `client_epsilon`.
//
// Thread-safety: Materialise/Release may be called concurrently (device
// workers); Configure and FillRow from the driving thread.
#ifndef FEDGE_SIMULATIONS_PRIVACY_RUNTIME_H_
#define FEDGE_SIMULATIONS_PRIVACY_RUNTIME_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/federation.h"
#include "core/random.h"
#include "privacy/privacy_ledger.h"
#include "proto/fedge.pb.h"
#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fedge {

// The privacy state of one device for one materialisation. Movable.
struct DevicePrivacy {
  std::string device_id;
  // The device's ledger (null without [dp]); pass as DeviceOptions::privacy_ledger.
  std::unique_ptr<PrivacyLedger> ledger;
  // DP-SGD noise for this device and round; pass as TorchTrainerOptions::dp_random.
  std::unique_ptr<DeterministicRandom> noise;
};

// The seed of device's DP-SGD noise stream in the round opened at `round`
// (what Materialise seeds DevicePrivacy::noise with): a worker rank of
// fedge-sim --mpi rebuilds the same stream from it.
uint64_t DeviceNoiseSeed(uint64_t device_seed, uint64_t round);

class PrivacyRuntime {
 public:
  // `device_ids` is the population. With [dp] the ledgers are kept in
  // `ledger_dir` (a durable run: ledgers found there are read back, so ε
  // continues) or, when it is empty, in a temporary folder removed with
  // the runtime. kUnavailable / kDataLoss when a folder or ledger fails.
  static absl::StatusOr<std::unique_ptr<PrivacyRuntime>> Create(const Scenario& scenario,
                                                                std::vector<std::string> device_ids,
                                                                const std::string& ledger_dir = {});
  ~PrivacyRuntime();  // removes a temporary ledger folder
  PrivacyRuntime(const PrivacyRuntime&) = delete;
  PrivacyRuntime& operator=(const PrivacyRuntime&) = delete;

  // Sets options.dp_random to the seeded client-DP noise when client DP is
  // on. The pointer stays valid for this object's lifetime.
  void Configure(FederationOptions& options);

  bool device_dp() const { return scenario_.dp.enabled; }

  // Opens `device_id`'s ledger (when [dp] is on) and a noise stream seeded
  // by the device's seed (DeviceProfile::seed) and `round`.
  // kDataLoss/kUnavailable from PrivacyLedger::Open.
  absl::StatusOr<DevicePrivacy> Materialise(const std::string& device_id, uint64_t device_seed, uint64_t round);
  // Records the ε the device's ledger has spent; call before destroying it.
  void Release(const DevicePrivacy& device);

  // Sets row.epsilon_device_median/max and row.client_epsilon (NaN when
  // the scenario has no such DP).
  void FillRow(const proto::RoundRecord& record, RoundRow& row) const;

 private:
  PrivacyRuntime(const Scenario& scenario, std::vector<std::string> device_ids);

  const Scenario scenario_;
  const std::vector<std::string> device_ids_;
  std::string ledger_dir_;  // empty without [dp]
  bool owns_ledger_dir_ = false;  // a temporary folder
  DeterministicRandom client_noise_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, double> spent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_PRIVACY_RUNTIME_H_
