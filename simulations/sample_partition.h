// File: simulations/sample_partition.h
//
// The `sample` partition (`data.partition = "sample"`): every device of a
// population of any size holds its own sample of the training set, drawn
// WITH replacement, so a population larger than the dataset (100,000 devices
// over Fashion-MNIST's 60,000 images) leaves no device empty. Devices differ
// as writers do:
//
//  * label mix: proportions p ~ Dir(alpha) over the classes, per device
//    (normalised Gamma(alpha, 1) draws); each example draws its class from p,
//    then an example of that class uniformly;
//  * size: a log-normal draw `mean · exp(sigma·z − sigma²/2)` (expectation
//    `mean`), rounded and clamped to [min_examples, max_examples];
//  * style (optional): a fixed per-device covariate transform — a rotation
//    uniform in ±rotation_deg, a brightness offset uniform in ±brightness and
//    Gaussian sensor noise of a std uniform in [0, noise] — applied with the
//    drift transforms (simulations/drift_transform.h).
//
// Nothing per device is stored: a device's size, shard and style are
// functions of (seed, device index) and are regenerated whenever the device
// is materialised. The only state is the shared index of examples by class
// (4 bytes per training example), independent of the population size.
//
// LibTorch-free. A SamplePartition is immutable after Create; all methods
// are const and thread-safe.
#ifndef FEDGE_SIMULATIONS_SAMPLE_PARTITION_H_
#define FEDGE_SIMULATIONS_SAMPLE_PARTITION_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/idx.h"
#include "simulations/scenario.h"

namespace fedge {

struct SampleOptions {
  double alpha = 0.5;                            // Dirichlet concentration of the label mix, > 0
  LogNormal size{.mean = 60, .sigma = 0.5};      // examples per device before clamping
  int64_t min_examples = 1;                      // >= 1
  int64_t max_examples = 1000;                   // >= min_examples
  SampleStyle style = {};                        // all 0: no style transform
  uint64_t seed = 1;
};

// One device's fixed style. identity() when the scenario has none.
struct DeviceStyle {
  double rotation_deg = 0;
  double brightness = 0;  // offset on the [0, 1] pixel scale
  double noise_std = 0;   // on the [0, 1] pixel scale
  uint64_t noise_seed = 0;
  bool identity() const { return rotation_deg == 0 && brightness == 0 && noise_std == 0; }
};

class SamplePartition {
 public:
  // `labels` each in [0, 255] (classes = max label + 1). kInvalidArgument for
  // no examples, alpha <= 0, min_examples < 1, max_examples < min_examples,
  // a negative size mean or sigma, or a negative style bound.
  static absl::StatusOr<SamplePartition> Create(absl::Span<const uint8_t> labels, const SampleOptions& options);

  // Examples device `device` holds, without drawing its shard. >= 1.
  int64_t ShardSize(int64_t device) const;
  // The device's example indices (ShardSize of them, sorted, repeats allowed).
  std::vector<int64_t> Shard(int64_t device) const;
  // The device's fixed style.
  DeviceStyle Style(int64_t device) const;

  // Bytes held by this object, whatever the population size.
  size_t MemoryBytes() const;

 private:
  SamplePartition(SampleOptions options, std::vector<std::vector<int32_t>> by_class)
      : options_(options), by_class_(std::move(by_class)) {}

  SampleOptions options_;
  std::vector<std::vector<int32_t>> by_class_;  // example indices of each class (empty for absent ones)
};

// The examples `indices` of `data` as a dataset of their own, each image
// transformed by `style` (a plain copy when it is the identity). Noise is
// seeded per example from (style.noise_seed, position), so the same device
// gets the same images every time it is materialised.
ImageDataset StyledShard(const ImageDataset& data, absl::Span<const int64_t> indices, const DeviceStyle& style);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_SAMPLE_PARTITION_H_
