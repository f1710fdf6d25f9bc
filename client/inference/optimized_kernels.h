// File: client/inference/optimized_kernels.h
//
// Optimised CONV2D / LINEAR kernels, bit-exact with reference_kernels.h.
//
// How: weights are packed once at load time into int16 rows padded to a
// multiple of kDepthBlock (zero tail), and the input zero point is folded
// into the bias with the row-sum identity
//     sum_k (x_k - zp) * w_k = sum_k x_k * w_k - zp * sum_k w_k,
// so the inner loop is a plain int16 x int16 -> int32 dot product, which
// GCC/Clang vectorise to (v)pmaddwd. CONV2D first lays out each output
// position's receptive field as one contiguous row (im2col; padded cells are
// filled with the zero point, which the row-sum term cancels exactly), then
// a register-blocked GEMM computes four output channels per pass over a row,
// walking output positions in cache-sized column blocks, and requantises in
// the same pass. On x86-64 the GEMM is compiled for AVX2 and for baseline
// SSE2 and the best is chosen at run time.
//
// Thread-safety: pure functions of their arguments.
#ifndef FEDGE_CLIENT_INFERENCE_OPTIMIZED_KERNELS_H_
#define FEDGE_CLIENT_INFERENCE_OPTIMIZED_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "client/inference/graph_plan.h"

namespace fedge {

inline constexpr int kDepthBlock = 16;

// Fills op.packed from op.weights / op.bias. Requires a CONV2D or LINEAR op.
void PackWeights(PlannedOp& op);

// int16 scratch elements OptimizedConv2d / OptimizedLinear need for `op`
// (0 for other kinds).
size_t OptimizedScratchSize(const PlannedOp& op);

// Preconditions as in reference_kernels.h, plus: PackWeights(op) was called
// and `scratch` holds OptimizedScratchSize(op) elements.
void OptimizedConv2d(const PlannedOp& op, const int8_t* in, int8_t* out, int16_t* scratch);
void OptimizedLinear(const PlannedOp& op, const int8_t* in, int8_t* out, int16_t* scratch);

}  // namespace fedge

#endif  // FEDGE_CLIENT_INFERENCE_OPTIMIZED_KERNELS_H_
