// File: simulations/partition.h
//
// Splits a labelled training set over the devices of a simulated population.
// Three methods, all deterministic from a seed (core/random.h) and all
// assigning every example to at most one device:
//
//  * IID: the examples are shuffled and cut into `num_devices` contiguous
//    runs whose sizes differ by at most one.
//  * Dirichlet label skew (Hsu et al., 2019): for each class c separately,
//    proportions p_c ~ Dir(alpha, ..., alpha) over the devices are drawn
//    (normalised Gamma(alpha, 1) draws) and the shuffled examples of c are
//    cut at the cumulative proportions, so device d receives about
//    p_c[d] * |c| of them. Small alpha (0.1) leaves most devices with one or
//    two dominant classes; large alpha (100) approaches the IID split. Shard
//    sizes vary, and a device may receive no example at all.
//  * k classes per device ("shards"): device d holds exactly k distinct
//    classes — a window of k consecutive classes starting at an offset taken
//    from a fresh random permutation of the classes for every block of
//    num_classes devices, so classes are spread evenly — and each class's
//    shuffled examples are split evenly over the devices holding it.
//
// After partitioning, each shard is optionally capped at
// `max_examples_per_device` random examples and sorted ascending.
//
// LibTorch-free. All functions are thread-safe.
#ifndef FEDGE_SIMULATIONS_PARTITION_H_
#define FEDGE_SIMULATIONS_PARTITION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/idx.h"

namespace fedge {

// Example indices held by each device: shards[d] for device d.
using Partition = std::vector<std::vector<int64_t>>;

struct PartitionOptions {
  // "iid", "dirichlet" or "classes".
  std::string method = "iid";
  int64_t num_devices = 1;
  // Dirichlet concentration, > 0.
  double alpha = 0.5;
  // For "classes": in [1, number of classes].
  int classes_per_device = 2;
  // 0 = no cap.
  int64_t max_examples_per_device = 0;
  uint64_t seed = 1;
};

// Partitions examples with labels `labels` (each in [0, 255]; the number of
// classes is max label + 1). kInvalidArgument for an unknown method,
// num_devices < 1, alpha <= 0, classes_per_device outside
// [1, number of classes], a negative cap, or no examples.
absl::StatusOr<Partition> PartitionData(absl::Span<const uint8_t> labels, const PartitionOptions& options);

// The examples of `data` at `indices` (in that order, repeats allowed) as a
// dataset of their own. REQUIRES: every index is in [0, data.num_examples).
ImageDataset SelectExamples(const ImageDataset& data, absl::Span<const int64_t> indices);

// Per-device label histograms: counts[d][c] = examples of class c on device d.
std::vector<std::vector<int64_t>> LabelCounts(const Partition& partition, absl::Span<const uint8_t> labels,
                                              int num_classes);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_PARTITION_H_
