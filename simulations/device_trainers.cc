#include "simulations/device_trainers.h"

#include <algorithm>
#include <numeric>

#include "core/random.h"
#include "core/status.h"
#include "simulations/attack.h"
#include "simulations/deploy_sim.h"
#include "simulations/partition.h"

namespace fedge {
namespace {

constexpr uint64_t kPartitionStream = 0x7061727469ULL;
constexpr uint64_t kAttackStream = 0x61747461636bULL;

// The `sample` partition's options for a scenario.
SampleOptions SampleOptionsFor(const Scenario& s, uint64_t seed) {
  int64_t max_examples = s.data.sample_max;
  if (s.data.max_examples_per_device > 0) max_examples = std::min(max_examples, s.data.max_examples_per_device);
  return {.alpha = s.data.alpha,
          .size = s.data.sample_size,
          .min_examples = std::min(s.data.sample_min, max_examples),
          .max_examples = max_examples,
          .style = s.data.style,
          .seed = seed};
}

std::vector<int64_t> AllOf(const ImageDataset& data) {
  std::vector<int64_t> all(data.num_examples);
  std::iota(all.begin(), all.end(), 0);
  return all;
}

}  // namespace

DeviceProfile PopulationSetup::Materialise(size_t index) const {
  DeviceProfile profile = population[index];
  if (sample) profile.examples = sample->Shard(static_cast<int64_t>(index));
  return profile;
}

absl::StatusOr<PopulationSetup> BuildPopulation(const Scenario& scenario, const ImageDataset& train) {
  FEDGE_ASSIGN_OR_RETURN(const int64_t device_examples, DeviceTrainingExamples(scenario, train.num_examples));
  const absl::Span<const uint8_t> device_labels = absl::MakeConstSpan(train.labels).first(device_examples);
  PopulationSetup setup;
  Partition shards;
  if (scenario.data.partition == "sample") {
    FEDGE_ASSIGN_OR_RETURN(SamplePartition sample,
                           SamplePartition::Create(device_labels, SampleOptionsFor(scenario, DeriveSeed(scenario.seed,
                                                                                               kPartitionStream))));
    setup.sample = std::make_unique<SamplePartition>(std::move(sample));
    shards.resize(scenario.population.num_devices);  // regenerated when a device is materialised
  } else {
    FEDGE_ASSIGN_OR_RETURN(shards, PartitionData(device_labels, {.method = scenario.data.partition,
                                                                 .num_devices = scenario.population.num_devices,
                                                                 .alpha = scenario.data.alpha,
                                                                 .classes_per_device = scenario.data.classes_per_device,
                                                                 .max_examples_per_device =
                                                                     scenario.data.max_examples_per_device,
                                                                 .seed = DeriveSeed(scenario.seed, kPartitionStream)}));
  }
  setup.population = MakePopulation(scenario, std::move(shards));
  setup.malicious = SelectMaliciousDevices(static_cast<int64_t>(setup.population.size()), scenario.attack.fraction,
                                           DeriveSeed(scenario.seed, kAttackStream));
  return setup;
}

TorchTrainerOptions DeviceTrainerOptions(const Scenario& scenario, SecureRandom* dp_random) {
  TorchTrainerOptions options;
  options.architecture = scenario.model.name;
  options.torch_threads = scenario.run.torch_threads;
  options.evaluate_local = false;
  options.dp_random = dp_random;
  return options;
}

absl::StatusOr<std::unique_ptr<TorchTrainer>> MakeDeviceTrainer(const Scenario& scenario, const ImageDataset& train,
                                                                const PopulationSetup& setup, size_t index,
                                                                const DeviceProfile& profile,
                                                                const TorchTrainerOptions& options) {
  // Label flipping poisons the data the device is given, not its update.
  const bool flips_labels = setup.malicious[index] && !IsUpdateAttack(scenario.attack);
  if (setup.sample != nullptr) {
    // The device's own sample, in its own style (regenerated, not stored).
    ImageDataset own = StyledShard(train, profile.examples, setup.sample->Style(static_cast<int64_t>(index)));
    if (flips_labels) own = FlippedLabelShard(own, AllOf(own));
    return TorchTrainer::Create(options, own, AllOf(own));
  }
  if (flips_labels) {
    const ImageDataset poisoned = FlippedLabelShard(train, profile.examples);
    return TorchTrainer::Create(options, poisoned, AllOf(poisoned));
  }
  return TorchTrainer::Create(options, train, profile.examples);
}

}  // namespace fedge
