// File: inference/reference_kernels.h
//
// Reference int8 kernels: straightforward loops that follow the arithmetic of
// inference/README.md literally (sum of (x - zero_point) * w over the
// valid window, + bias, requantise, clamp). They define the expected output
// bit for bit; the optimised kernels are tested against them. Pooling and
// ReLU are shared by both kernel sets (they are memory-bound already).
//
// Preconditions for every kernel: `op` comes from PlanInt8Graph, `in` holds
// op.in.size() values and `out` room for op.out.size(); buffers don't alias
// (Relu may run in place).
// Thread-safety: pure functions of their arguments.
#ifndef FEDGE_INFERENCE_REFERENCE_KERNELS_H_
#define FEDGE_INFERENCE_REFERENCE_KERNELS_H_

#include <cstdint>

#include "inference/graph_plan.h"

namespace fedge {

void ReferenceConv2d(const PlannedOp& op, const int8_t* in, int8_t* out);
void ReferenceLinear(const PlannedOp& op, const int8_t* in, int8_t* out);

void MaxPool2d(const PlannedOp& op, const int8_t* in, int8_t* out);
void AvgPool2d(const PlannedOp& op, const int8_t* in, int8_t* out);
// Clamps at op.act_min (the zero point); `in` may equal `out`.
void Relu(const PlannedOp& op, const int8_t* in, int8_t* out);

}  // namespace fedge

#endif  // FEDGE_INFERENCE_REFERENCE_KERNELS_H_
