#include "simulations/sample_partition.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/random.h"
#include "simulations/drift_transform.h"
#include "simulations/partition.h"

namespace fedge {
namespace {

// Independent streams per device, derived from the partition seed: the size
// has its own so that ShardSize need not draw the shard.
constexpr uint64_t kSizeStream = 0x73697a65ULL;
constexpr uint64_t kShardStream = 0x7368617264ULL;
constexpr uint64_t kStyleStream = 0x7374796c65ULL;

SeededRandom DeviceRng(uint64_t seed, uint64_t stream, int64_t device) {
  return SeededRandom(DeriveSeed(DeriveSeed(seed, stream), static_cast<uint64_t>(device)));
}

// p ~ Dir(alpha) over the classes present (absent classes get 0).
std::vector<double> LabelMix(const std::vector<std::vector<int32_t>>& by_class, double alpha, SeededRandom& rng) {
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> p(by_class.size(), 0.0);
  double total = 0;
  for (size_t c = 0; c < p.size(); ++c) {
    if (!by_class[c].empty()) total += (p[c] = gamma(rng));
  }
  if (!(total > 0)) {  // every draw underflowed (tiny alpha): one present class, uniformly
    std::vector<size_t> present;
    for (size_t c = 0; c < p.size(); ++c) {
      if (!by_class[c].empty()) present.push_back(c);
    }
    const size_t pick = std::uniform_int_distribution<size_t>(0, present.size() - 1)(rng);
    p[present[pick]] = 1;
  }
  return p;
}

}  // namespace

absl::StatusOr<SamplePartition> SamplePartition::Create(absl::Span<const uint8_t> labels, const SampleOptions& o) {
  if (labels.empty()) return absl::InvalidArgumentError("partition: the dataset has no examples");
  if (!(o.alpha > 0)) return absl::InvalidArgumentError("partition sample: alpha must be > 0");
  if (o.min_examples < 1) return absl::InvalidArgumentError("partition sample: data.sample_min must be >= 1");
  if (o.max_examples < o.min_examples) {
    return absl::InvalidArgumentError(absl::StrCat("partition sample: data.sample_max = ", o.max_examples,
                                                   " is below data.sample_min = ", o.min_examples));
  }
  if (!(o.size.mean > 0) || !(o.size.sigma >= 0)) {
    return absl::InvalidArgumentError("partition sample: data.sample_size needs mean > 0 and sigma >= 0");
  }
  if (!(o.style.rotation_deg >= 0) || !(o.style.brightness >= 0) || !(o.style.noise >= 0)) {
    return absl::InvalidArgumentError("partition sample: data.style bounds must be >= 0");
  }
  if (labels.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return absl::InvalidArgumentError("partition sample: more than 2^31 - 1 examples");
  }
  const int num_classes = *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<size_t> counts(num_classes, 0);
  for (uint8_t label : labels) ++counts[label];
  std::vector<std::vector<int32_t>> by_class(num_classes);
  for (int c = 0; c < num_classes; ++c) by_class[c].reserve(counts[c]);  // exact: no growth slack
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int32_t>(i));
  return SamplePartition(o, std::move(by_class));
}

int64_t SamplePartition::ShardSize(int64_t device) const {
  SeededRandom rng = DeviceRng(options_.seed, kSizeStream, device);
  const double z = std::normal_distribution<double>(0, 1)(rng);
  const double size = std::round(SampleLogNormal(options_.size, z));
  // Clamp as a double first: a huge draw must not overflow the conversion.
  return static_cast<int64_t>(std::clamp(size, static_cast<double>(options_.min_examples),
                                         static_cast<double>(options_.max_examples)));
}

std::vector<int64_t> SamplePartition::Shard(int64_t device) const {
  SeededRandom rng = DeviceRng(options_.seed, kShardStream, device);
  const std::vector<double> mix = LabelMix(by_class_, options_.alpha, rng);
  std::discrete_distribution<size_t> pick_class(mix.begin(), mix.end());
  std::vector<int64_t> shard(static_cast<size_t>(ShardSize(device)));
  for (int64_t& example : shard) {
    const std::vector<int32_t>& pool = by_class_[pick_class(rng)];
    example = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
  }
  std::sort(shard.begin(), shard.end());
  return shard;
}

DeviceStyle SamplePartition::Style(int64_t device) const {
  const SampleStyle& bounds = options_.style;
  SeededRandom rng = DeviceRng(options_.seed, kStyleStream, device);
  std::uniform_real_distribution<double> u(-1, 1);
  DeviceStyle style;
  // Drawn unconditionally, so one bound does not shift the others' draws.
  style.rotation_deg = bounds.rotation_deg * u(rng);
  style.brightness = bounds.brightness * u(rng);
  style.noise_std = bounds.noise * std::abs(u(rng));
  style.noise_seed = rng();
  return style;
}

size_t SamplePartition::MemoryBytes() const {
  size_t bytes = sizeof(*this);
  for (const auto& pool : by_class_) bytes += sizeof(pool) + pool.capacity() * sizeof(int32_t);
  return bytes;
}

ImageDataset StyledShard(const ImageDataset& data, absl::Span<const int64_t> indices, const DeviceStyle& style) {
  ImageDataset shard = SelectExamples(data, indices);
  const size_t pixels = static_cast<size_t>(data.rows * data.cols);
  std::vector<uint8_t> original(pixels);
  for (size_t k = 0; k < indices.size(); ++k) {
    const absl::Span<uint8_t> image(shard.images.data() + k * pixels, pixels);
    if (style.rotation_deg != 0) {
      std::copy(image.begin(), image.end(), original.begin());
      RotateImage(original, data.rows, data.cols, style.rotation_deg, image);
    }
    if (style.brightness != 0) AdjustBrightness(image, style.brightness, 1.0);
    if (style.noise_std > 0) AddSensorNoise(image, style.noise_std, DeriveSeed(style.noise_seed, k));
  }
  return shard;
}

}  // namespace fedge
