// File: inference/optimized_kernels_avx2.h
//
// AVX2 variants of the optimised kernels (optimized_kernels.h), compiled with
// per-function `target("avx2")` attributes so the library itself keeps the
// baseline x86-64 flags; optimized_kernels.cc calls them only after
// Avx2KernelsSupported() said yes (the choice is made once at engine load).
// Bit-exact with reference_kernels.h like the portable kernels.
//
// How the convolution works: the GEMM vectorises over output positions, so
// each int32 lane is one output position of one channel and requantisation
// runs on 8 lanes at once with the channel's multiplier broadcast. The input
// is laid out "transposed im2col": for every pair of taps (k, k+1) of the
// receptive field, one row over all output positions holding the two int16
// values interleaved ([pairs][positions padded to 16][2]). A stride-1 tap
// row is then a contiguous run of the input, copied 8 values at a time, and
// `vpmaddwd` against the broadcast weight pair (w[c][k], w[c][k+1]) adds
// both taps into exact int32 accumulators. A register block is 4 channels
// x 16 positions. The zero point is folded into the bias (row sums), as in
// the portable kernels.
//
// Internal to fedge::inference. Thread-safety: pure functions.
#ifndef FEDGE_INFERENCE_OPTIMIZED_KERNELS_AVX2_H_
#define FEDGE_INFERENCE_OPTIMIZED_KERNELS_AVX2_H_

#include <cstddef>
#include <cstdint>

#include "inference/graph_plan.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FEDGE_INFERENCE_HAVE_AVX2 1
#else
#define FEDGE_INFERENCE_HAVE_AVX2 0
#endif

namespace fedge {

// True when the kernels below are compiled in and the CPU supports AVX2.
bool Avx2KernelsSupported();

#if FEDGE_INFERENCE_HAVE_AVX2
// int16 scratch elements Avx2Conv2d / Avx2Linear need for `op`.
size_t Avx2ScratchSize(const PlannedOp& op);

// Preconditions: Avx2KernelsSupported(), PackWeights(op) was called, buffers
// as in reference_kernels.h, `scratch` holds Avx2ScratchSize(op) elements.
void Avx2Conv2d(const PlannedOp& op, const int8_t* in, int8_t* out, int16_t* scratch);
void Avx2Linear(const PlannedOp& op, const int8_t* in, int8_t* out, int16_t* scratch);

// QuantizeValue over n finite floats, bit-identical.
void Avx2QuantizeInput(const float* in, size_t n, ActivationQuant q, int8_t* out);

// 2x2 / stride 2 / no padding max pooling; returns false (and does nothing)
// for other geometries. Precondition: Avx2KernelsSupported().
bool Avx2MaxPool2x2(const PlannedOp& op, const int8_t* in, int8_t* out);
#endif

}  // namespace fedge

#endif  // FEDGE_INFERENCE_OPTIMIZED_KERNELS_AVX2_H_
