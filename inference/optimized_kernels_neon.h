// File: inference/optimized_kernels_neon.h
//
// aarch64 variants of the optimised kernels (optimized_kernels.h) with NEON
// intrinsics, bit-exact with reference_kernels.h like the portable kernels.
// NEON (Advanced SIMD) is part of every ARMv8-A CPU, so KernelIsa::kNeon is
// always available on aarch64; KernelIsa::kNeonDot additionally needs the
// ARMv8.2 dot-product extension (SDOT), which the CPU reports through
// getauxval(AT_HWCAP) & HWCAP_ASIMDDP. Its functions carry a per-function
// `target("arch=armv8.2-a+dotprod")` attribute, so the library keeps the
// baseline ARMv8-A flags and runs on CPUs without it (Raspberry Pi 3/4);
// optimized_kernels.cc calls them only after NeonDotKernelsSupported().
//
// How: both variants take the portable layout of optimized_kernels.cc (one
// im2col row per output position, depth padded to kDepthBlock with a zero
// tail; the input zero point folded into the bias) and compute four output
// channels x two positions per pass. kNeon multiplies int16 rows with
// widening multiply-accumulates (SMLAL); kNeonDot keeps the rows and the
// weights as int8 (PackedWeights::values_s8) and adds groups of four
// products with SDOT, which is exact because int8 x int8 products summed in
// int32 are the same integers in any order. Requantisation runs on the four
// channels' accumulators at once with per-lane multipliers and shifts:
// SQSHL is the saturating left shift, SQRDMULH is exactly
// SaturatingRoundingDoublingHighMul for multipliers >= 0, and SRSHL after a
// -1 fix-up of negative values is RoundingDivideByPOT (ties away from zero).
//
// Internal to fedge::inference. Thread-safety: pure functions.
#ifndef FEDGE_INFERENCE_OPTIMIZED_KERNELS_NEON_H_
#define FEDGE_INFERENCE_OPTIMIZED_KERNELS_NEON_H_

#include <cstddef>
#include <cstdint>

#include "inference/graph_plan.h"

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define FEDGE_INFERENCE_HAVE_NEON 1
#else
#define FEDGE_INFERENCE_HAVE_NEON 0
#endif

namespace fedge {

// True when the kernels below are compiled in (aarch64).
bool NeonKernelsSupported();
// True when, in addition, the CPU has the dot-product instructions.
bool NeonDotKernelsSupported();

#if FEDGE_INFERENCE_HAVE_NEON
// out[r * ncols + p] = requantise(W[r] . cols[p] + bias'[r]) for all output
// channels r and positions p < ncols, where `cols` holds ncols rows of
// op.packed.depth_padded values (the portable im2col layout).
// Precondition: PackWeights(op) was called.
void NeonGemmRequantize(const PlannedOp& op, const int16_t* cols, int ncols, int8_t* out);

// The same with int8 rows and op.packed.values_s8. Preconditions:
// NeonDotKernelsSupported() and PackWeights(op) was called after it.
void NeonDotGemmRequantize(const PlannedOp& op, const int8_t* cols, int ncols, int8_t* out);

// QuantizeValue over n finite floats, bit-identical.
void NeonQuantizeInput(const float* in, size_t n, ActivationQuant q, int8_t* out);

// 2x2 / stride 2 / no padding max pooling; returns false (and does nothing)
// for other geometries.
bool NeonMaxPool2x2(const PlannedOp& op, const int8_t* in, int8_t* out);
#endif

}  // namespace fedge

#endif  // FEDGE_INFERENCE_OPTIMIZED_KERNELS_NEON_H_
