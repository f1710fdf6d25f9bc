// File: simulations/deploy_sim.h
//
// The deployed int8 model in a simulation ([deploy], deploy_setup.h). The
// coordinator side is the real one: a `DistillingDeployer` (compression/
// model/distilling_deployer.h) handed to the Federation, which runs it every
// `every_rounds` rounds and serves the signed artifact. The proxy set is the
// tail of the training split, held out of every device's shard
// (`DeviceTrainingExamples`). The device side is the real one too: each
// virtual device owns a memory-only `ModelSlot` that its `Device` installs
// deployments into, so installs, verification and the "devices serving"
// count go through the code a phone runs.
//
// Thread-safety: SlotFor may be called from the simulator's workers
// concurrently; the rest from the driving thread.
#ifndef FEDGE_SIMULATIONS_DEPLOY_SIM_H_
#define FEDGE_SIMULATIONS_DEPLOY_SIM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "compression/model/distilling_deployer.h"
#include "coordinator/federation.h"
#include "core/idx.h"
#include "core/signing.h"
#include "client/data/example_store.h"
#include "client/device.h"
#include "inference/model_slot.h"
#include "proto/fedge.pb.h"
#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fedge {

// How many leading training examples the devices' shards are drawn from:
// all of them without [deploy], otherwise all but the proxy set.
// kInvalidArgument when the proxy set would leave devices nothing.
absl::StatusOr<int64_t> DeviceTrainingExamples(const Scenario& scenario, int64_t train_size);

class DeploySimulation {
 public:
  // REQUIRES: scenario.deploy.enabled(). `train` and `test` are the
  // simulation's data (the proxy set is copied out); `signing_key` is the
  // coordinator's. kInvalidArgument for a student the zoo or the int8
  // format cannot express, or an empty test set.
  static absl::StatusOr<std::unique_ptr<DeploySimulation>> Create(const Scenario& scenario, const ImageDataset& train,
                                                                   const ImageDataset& test, SigningKey signing_key);

  // Sets the Federation's deploy_every and deployer (this object's).
  void Configure(FederationOptions& options);

  // The inference slot of `device_id`, created on first use.
  ModelSlot* SlotFor(const std::string& device_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Sets a virtual device's health check of each installed deployment: its
  // accuracy on the first kHealthExamples test images (held back from every
  // device's training data), rolled back below [rollout] min_accuracy, as
  // fedge-device does with its own examples (client/device.h).
  void ConfigureDevice(DeviceOptions& options) const;
  static constexpr int64_t kHealthExamples = 100;

  // Copies the round's deployment figures into the row's deploy columns.
  static void FillRow(const proto::RoundRecord& record, RoundRow& row);

 private:
  DeploySimulation(const Scenario& scenario, std::unique_ptr<DistillingDeployer> deployer, VerifyKey verify_key,
                   ExampleBatch health);

  const int64_t every_rounds_;
  std::unique_ptr<DistillingDeployer> deployer_;
  const VerifyKey verify_key_;
  const double min_accuracy_;
  const ExampleBatch health_;  // normalised test images and their labels
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<ModelSlot>> slots_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DEPLOY_SIM_H_
