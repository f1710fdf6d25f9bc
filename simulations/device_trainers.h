// File: simulations/device_trainers.h
//
// What a simulated device trains on, rebuilt from the scenario and its seed
// alone, so any process that loads the same scenario and dataset builds the
// same thing: the population (profiles and shards, simulations/
// virtual_device.h), the `sample` partition when the scenario uses it, the
// malicious devices ([attack]), and a device's TorchTrainer over its data
// (styled, label-flipped as the scenario says). The simulator builds its
// population with it, and so does every worker rank of `fedge-sim --mpi`
// (simulations/remote_training.h), which is what makes a device trained on
// another rank bit-identical to one trained by the simulator itself.
//
// Thread-safety: BuildPopulation is a pure function; a PopulationSetup is
// immutable once built and MakeDeviceTrainer may be called on it
// concurrently.
#ifndef FEDGE_SIMULATIONS_DEVICE_TRAINERS_H_
#define FEDGE_SIMULATIONS_DEVICE_TRAINERS_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "client/trainer.h"
#include "core/idx.h"
#include "simulations/sample_partition.h"
#include "simulations/scenario.h"
#include "simulations/virtual_device.h"

namespace fedge {

struct PopulationSetup {
  // Every device's profile; with the `sample` partition without its shard
  // (examples empty): Materialise regenerates it from the seed.
  std::vector<DeviceProfile> population;
  std::unique_ptr<SamplePartition> sample;  // partition = "sample"; null otherwise
  std::vector<bool> malicious;              // by population index ([attack])

  // Device `index`'s profile with its shard. REQUIRES: index < population.size().
  DeviceProfile Materialise(size_t index) const;
};

// Partitions the devices' part of `train` (all of it, or without the tail
// [deploy] holds out as the coordinator's proxy set), draws the population
// and selects the malicious devices, all from scenario.seed.
// kInvalidArgument for a partition the data cannot give.
absl::StatusOr<PopulationSetup> BuildPopulation(const Scenario& scenario, const ImageDataset& train);

// The trainer options every simulated device uses: the scenario's model and
// LibTorch thread count, no local evaluation, DP-SGD noise from `dp_random`
// (borrowed).
TorchTrainerOptions DeviceTrainerOptions(const Scenario& scenario, SecureRandom* dp_random);

// Device `index`'s trainer over its shard of `train` (materialised as
// `profile`): its own sample in its own style with the `sample` partition,
// label-flipped when it is a data-poisoning attacker. Not for [drift]
// scenarios, whose data windows the simulator's DriftSimulation holds.
// `train` is borrowed and must outlive the trainer.
absl::StatusOr<std::unique_ptr<TorchTrainer>> MakeDeviceTrainer(const Scenario& scenario, const ImageDataset& train,
                                                                const PopulationSetup& setup, size_t index,
                                                                const DeviceProfile& profile,
                                                                const TorchTrainerOptions& options);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DEVICE_TRAINERS_H_
