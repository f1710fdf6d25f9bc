// File: inference/load_limits.h
//
// What a graph may cost a device, checked at load before anything is
// allocated. Signature and graph validation (graph_plan.h) say a model is
// well formed; they do not say a device can afford it: a few kilobytes of
// signed graph can describe a convolution whose im2col scratch needs tens of
// gigabytes, or a pooling window that makes one Classify run for hours.
// `ComputeGraphCost` derives, from a validated plan, the memory Load would
// reserve and the work one example takes, with overflow-checked arithmetic;
// `CheckGraphCost` refuses a graph over the limits, naming the limit.
//
// The coordinator runs the same check before publishing a model
// (coordinator/deployed_model.h), so it never serves a model devices refuse.
//
// Thread-safety: pure functions over immutable inputs.
#ifndef FEDGE_INFERENCE_LOAD_LIMITS_H_
#define FEDGE_INFERENCE_LOAD_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inference/graph_plan.h"

namespace fedge {

// Defaults are generous for edge classifiers: the shipped student CNN needs
// about 57 KB and 0.33 M multiply-accumulates per example, a margin of over
// 1,000x in memory and 300x in compute (hostile_graph_test.cc checks it),
// while a device still cannot be made to reserve more than 64 MiB or spend
// more than ~0.1-1 s of one core per example.
struct LoadLimits {
  // Bytes Load reserves beyond the parsed artifact: the two activation
  // buffers, the optimised kernels' im2col scratch and packed weights, and
  // the planned weights and biases. Must be > 0.
  int64_t max_memory_bytes = int64_t{64} << 20;
  // Work per example, counted as multiply-accumulates: one per weight use in
  // CONV2D / LINEAR, one per pooling-window cell, one per ReLU element and
  // one per quantised input value. Must be > 0.
  int64_t max_macs_per_example = 100'000'000;
};

struct GraphCost {
  int64_t memory_bytes = 0;
  int64_t macs_per_example = 0;
};

// The cost of running `plan` with the optimised kernels (`optimized` true:
// packed weights and im2col scratch) or the reference ones.
// kInvalidArgument if a count does not fit in 64 bits (no device could run
// such a graph either way).
absl::StatusOr<GraphCost> ComputeGraphCost(const Int8Plan& plan, bool optimized);

// kResourceExhausted naming the exceeded limit and both values;
// kInvalidArgument for a non-positive limit.
absl::Status CheckGraphCost(const GraphCost& cost, const LoadLimits& limits);

}  // namespace fedge

#endif  // FEDGE_INFERENCE_LOAD_LIMITS_H_
