#include "simulations/partition.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/random.h"

namespace fedge {
namespace {

// Distinct random streams derived from the partition seed.
constexpr uint64_t kShuffleStream = 1;
constexpr uint64_t kClassStream = 1000;      // + class
constexpr uint64_t kDeviceStream = 1 << 20;  // + device

std::vector<std::vector<int64_t>> IndicesByClass(absl::Span<const uint8_t> labels, int num_classes) {
  std::vector<std::vector<int64_t>> by_class(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  return by_class;
}

// Appends `items` to shards[holders[j]] in `holders.size()` runs whose sizes
// differ by at most one.
void SplitEvenly(const std::vector<int64_t>& items, const std::vector<int64_t>& holders, Partition& shards) {
  const size_t n = items.size();
  const size_t k = holders.size();
  for (size_t j = 0; j < k; ++j) {
    const size_t begin = n * j / k;
    const size_t end = n * (j + 1) / k;
    auto& shard = shards[holders[j]];
    shard.insert(shard.end(), items.begin() + begin, items.begin() + end);
  }
}

Partition Iid(size_t num_examples, int64_t num_devices, uint64_t seed) {
  std::vector<int64_t> all(num_examples);
  std::iota(all.begin(), all.end(), 0);
  SeededRandom rng(DeriveSeed(seed, kShuffleStream));
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<int64_t> devices(num_devices);
  std::iota(devices.begin(), devices.end(), 0);
  Partition shards(num_devices);
  SplitEvenly(all, devices, shards);
  return shards;
}

Partition Dirichlet(absl::Span<const uint8_t> labels, int num_classes, int64_t num_devices, double alpha,
                    uint64_t seed) {
  Partition shards(num_devices);
  std::vector<std::vector<int64_t>> by_class = IndicesByClass(labels, num_classes);
  for (int c = 0; c < num_classes; ++c) {
    SeededRandom rng(DeriveSeed(seed, kClassStream + c));
    std::vector<int64_t>& items = by_class[c];
    std::shuffle(items.begin(), items.end(), rng);
    // Dir(alpha) as normalised Gamma(alpha, 1) draws.
    std::gamma_distribution<double> gamma(alpha, 1.0);
    std::vector<double> p(num_devices);
    double total = 0;
    for (double& v : p) total += (v = gamma(rng));
    if (!(total > 0)) {  // every draw underflowed (tiny alpha): give the class to one device
      std::fill(p.begin(), p.end(), 0.0);
      p[std::uniform_int_distribution<int64_t>(0, num_devices - 1)(rng)] = total = 1;
    }
    // Cut points at the cumulative proportions; the last device takes the rest.
    const double n = static_cast<double>(items.size());
    double cumulative = 0;
    size_t begin = 0;
    for (int64_t d = 0; d < num_devices; ++d) {
      cumulative += p[d];
      size_t end =
          d + 1 == num_devices ? items.size() : std::min(items.size(), static_cast<size_t>(n * (cumulative / total)));
      end = std::max(end, begin);
      shards[d].insert(shards[d].end(), items.begin() + begin, items.begin() + end);
      begin = end;
    }
  }
  return shards;
}

Partition ByClasses(absl::Span<const uint8_t> labels, int num_classes, int64_t num_devices, int k, uint64_t seed) {
  SeededRandom rng(DeriveSeed(seed, kShuffleStream));
  std::vector<std::vector<int64_t>> holders(num_classes);
  std::vector<int> offsets(num_classes);
  for (int64_t d = 0; d < num_devices; ++d) {
    if (d % num_classes == 0) {
      std::iota(offsets.begin(), offsets.end(), 0);
      std::shuffle(offsets.begin(), offsets.end(), rng);
    }
    const int start = offsets[d % num_classes];
    for (int j = 0; j < k; ++j) holders[(start + j) % num_classes].push_back(d);
  }
  Partition shards(num_devices);
  std::vector<std::vector<int64_t>> by_class = IndicesByClass(labels, num_classes);
  for (int c = 0; c < num_classes; ++c) {
    SeededRandom class_rng(DeriveSeed(seed, kClassStream + c));
    std::shuffle(by_class[c].begin(), by_class[c].end(), class_rng);
    if (!holders[c].empty()) SplitEvenly(by_class[c], holders[c], shards);
  }
  return shards;
}

}  // namespace

absl::StatusOr<Partition> PartitionData(absl::Span<const uint8_t> labels, const PartitionOptions& o) {
  if (labels.empty()) return absl::InvalidArgumentError("partition: the dataset has no examples");
  if (o.num_devices < 1) return absl::InvalidArgumentError("partition: num_devices must be >= 1");
  if (o.max_examples_per_device < 0) {
    return absl::InvalidArgumentError("partition: max_examples_per_device must be >= 0 (0 = no cap)");
  }
  const int num_classes = *std::max_element(labels.begin(), labels.end()) + 1;
  Partition shards;
  if (o.method == "iid") {
    shards = Iid(labels.size(), o.num_devices, o.seed);
  } else if (o.method == "dirichlet") {
    if (!(o.alpha > 0)) return absl::InvalidArgumentError("partition: dirichlet alpha must be > 0");
    shards = Dirichlet(labels, num_classes, o.num_devices, o.alpha, o.seed);
  } else if (o.method == "classes") {
    if (o.classes_per_device < 1 || o.classes_per_device > num_classes) {
      return absl::InvalidArgumentError(
          absl::StrCat("partition: classes_per_device = ", o.classes_per_device, " must be in [1, ", num_classes, "]"));
    }
    shards = ByClasses(labels, num_classes, o.num_devices, o.classes_per_device, o.seed);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("partition: unknown method '", o.method, "'; use iid, dirichlet or classes"));
  }
  for (int64_t d = 0; d < o.num_devices; ++d) {
    std::vector<int64_t>& shard = shards[d];
    if (o.max_examples_per_device > 0 && static_cast<int64_t>(shard.size()) > o.max_examples_per_device) {
      SeededRandom rng(DeriveSeed(o.seed, kDeviceStream + d));
      std::shuffle(shard.begin(), shard.end(), rng);
      shard.resize(o.max_examples_per_device);
    }
    std::sort(shard.begin(), shard.end());
  }
  return shards;
}

std::vector<std::vector<int64_t>> LabelCounts(const Partition& partition, absl::Span<const uint8_t> labels,
                                              int num_classes) {
  std::vector<std::vector<int64_t>> counts(partition.size(), std::vector<int64_t>(num_classes, 0));
  for (size_t d = 0; d < partition.size(); ++d) {
    for (int64_t i : partition[d]) ++counts[d][labels[i]];
  }
  return counts;
}

ImageDataset SelectExamples(const ImageDataset& data, absl::Span<const int64_t> indices) {
  ImageDataset shard;
  shard.num_examples = static_cast<int64_t>(indices.size());
  shard.rows = data.rows;
  shard.cols = data.cols;
  const size_t pixels = static_cast<size_t>(data.rows * data.cols);
  shard.images.resize(indices.size() * pixels);
  shard.labels.resize(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) {
    const auto i = static_cast<size_t>(indices[k]);
    std::copy_n(data.images.begin() + i * pixels, pixels, shard.images.begin() + k * pixels);
    shard.labels[k] = data.labels[i];
  }
  return shard;
}

}  // namespace fedge
