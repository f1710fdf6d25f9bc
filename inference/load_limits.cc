#include "inference/load_limits.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "inference/optimized_kernels.h"

namespace fedge {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// total += a * b; false on overflow (total is then unspecified).
[[nodiscard]] bool AddProduct(int64_t& total, int64_t a, int64_t b) {
  int64_t product = 0;
  return !__builtin_mul_overflow(a, b, &product) && !__builtin_add_overflow(total, product, &total);
}

// A size_t count of `unit`-byte elements as int64 bytes; false on overflow.
[[nodiscard]] bool Bytes(size_t count, int64_t unit, int64_t& out) {
  if (count > static_cast<size_t>(kInt64Max)) return false;
  out = 0;
  return AddProduct(out, static_cast<int64_t>(count), unit);
}

// Work of one op on one example (see LoadLimits::max_macs_per_example).
[[nodiscard]] bool AddOpMacs(const PlannedOp& op, int64_t& macs) {
  switch (op.kind) {
    case OpKind::kConv2d:
    case OpKind::kLinear: return AddProduct(macs, op.out.size(), op.depth);
    case OpKind::kMaxPool2d:
    case OpKind::kAvgPool2d: {
      int64_t window = 0;
      return AddProduct(window, op.kernel_h, op.kernel_w) && AddProduct(macs, op.out.size(), window);
    }
    case OpKind::kRelu: return AddProduct(macs, op.out.size(), 1);
    case OpKind::kFlatten: return true;
  }
  return false;
}

// Bytes held for one op's weights: the planned int8 copy and int32 bias
// (reference kernels), or the packed rows that replace the int8 copy.
[[nodiscard]] bool AddOpMemory(const PlannedOp& op, bool optimized, int64_t& memory) {
  int64_t bytes = 0;
  if (!Bytes(op.bias.size(), sizeof(int32_t), bytes) || __builtin_add_overflow(memory, bytes, &memory)) return false;
  const size_t weights = optimized ? PackedWeightsBytes(op) : op.weights.size();
  return Bytes(weights, 1, bytes) && !__builtin_add_overflow(memory, bytes, &memory);
}

absl::Status Overflow(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("int8 graph: its ", what, " does not fit in 64 bits"));
}

}  // namespace

absl::StatusOr<GraphCost> ComputeGraphCost(const Int8Plan& plan, bool optimized) {
  GraphCost cost;
  // Two ping-pong activation buffers, each as large as the largest activation.
  if (!AddProduct(cost.memory_bytes, plan.max_activation, 2)) return Overflow("activation memory");
  if (!AddProduct(cost.macs_per_example, plan.input.size(), 1)) return Overflow("work per example");
  size_t scratch = 0;
  for (const PlannedOp& op : plan.ops) {
    if (!AddOpMacs(op, cost.macs_per_example)) return Overflow("work per example");
    if (!AddOpMemory(op, optimized, cost.memory_bytes)) return Overflow("weight memory");
    // Scratch sizes are products of an activation size (< 2^27) and a depth
    // (< 2^16, the accumulator check), so they cannot wrap size_t.
    if (optimized) scratch = std::max(scratch, OptimizedScratchSize(op));
  }
  int64_t scratch_bytes = 0;
  if (!Bytes(scratch, sizeof(int16_t), scratch_bytes) ||
      __builtin_add_overflow(cost.memory_bytes, scratch_bytes, &cost.memory_bytes)) {
    return Overflow("scratch memory");
  }
  return cost;
}

absl::Status CheckGraphCost(const GraphCost& cost, const LoadLimits& limits) {
  if (limits.max_memory_bytes <= 0 || limits.max_macs_per_example <= 0) {
    return absl::InvalidArgumentError("LoadLimits: max_memory_bytes and max_macs_per_example must be > 0");
  }
  if (cost.memory_bytes > limits.max_memory_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("int8 graph needs ", cost.memory_bytes,
                                                     " bytes of activation, scratch and weight memory, over "
                                                     "LoadLimits.max_memory_bytes = ",
                                                     limits.max_memory_bytes));
  }
  if (cost.macs_per_example > limits.max_macs_per_example) {
    return absl::ResourceExhaustedError(absl::StrCat("int8 graph needs ", cost.macs_per_example,
                                                     " multiply-accumulates per example, over "
                                                     "LoadLimits.max_macs_per_example = ",
                                                     limits.max_macs_per_example));
  }
  return absl::OkStatus();
}

}  // namespace fedge
