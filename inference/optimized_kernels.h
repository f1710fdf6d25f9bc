// File: inference/optimized_kernels.h
//
// Optimised CONV2D / LINEAR kernels (plus a faster MAX_POOL2D and input
// quantisation), bit-exact with reference_kernels.h and QuantizeValue.
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
// the same pass. This portable GEMM is compiled for AVX2 and for baseline
// SSE2 (`target_clones`).
//
// On x86-64 CPUs with AVX2 a second kernel set (optimized_kernels_avx2.h)
// vectorises over output positions instead, with vectorised requantisation,
// a transposed im2col and a vectorised 2x2 max pool. On aarch64 the NEON
// sets (optimized_kernels_neon.h) keep the portable layout and vectorise
// the GEMM, requantisation, input quantisation and 2x2 max pool with NEON
// intrinsics; kNeonDot uses the ARMv8.2 dot-product instructions where the
// CPU has them. `DetectKernelIsa()` picks the set once (the engine calls it
// at load) and every kernel takes the choice as an argument, so all stay
// reachable and tested.
//
// Thread-safety: the kernels are pure functions of their arguments;
// ScopedKernelIsaOverride changes process-wide state (tests only).
#ifndef FEDGE_INFERENCE_OPTIMIZED_KERNELS_H_
#define FEDGE_INFERENCE_OPTIMIZED_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "inference/graph_plan.h"

namespace fedge {

inline constexpr int kDepthBlock = 16;

// Instruction-set variant of the optimised kernels.
enum class KernelIsa {
  kPortable,  // plain C++ (auto-vectorised), any CPU
  kAvx2,      // x86-64 AVX2 intrinsics, chosen at run time
  kNeon,      // aarch64 NEON intrinsics (every ARMv8-A CPU)
  kNeonDot,   // aarch64 NEON + ARMv8.2 dot product (SDOT), chosen at run time
};

// "portable", "avx2", "neon" or "neon-dot" (for logs and tests).
const char* KernelIsaName(KernelIsa isa);

// The fastest variant this CPU supports, unless a ScopedKernelIsaOverride is
// active. Engines call it once at load.
KernelIsa DetectKernelIsa();

// Variants usable on this CPU (always starts with kPortable).
std::vector<KernelIsa> SupportedKernelIsas();

// For tests: makes DetectKernelIsa() return `isa` (which must be supported)
// while the object lives. Not thread-safe with concurrent engine loads.
class ScopedKernelIsaOverride {
 public:
  explicit ScopedKernelIsaOverride(KernelIsa isa);
  ~ScopedKernelIsaOverride();
  ScopedKernelIsaOverride(const ScopedKernelIsaOverride&) = delete;
  ScopedKernelIsaOverride& operator=(const ScopedKernelIsaOverride&) = delete;

 private:
  int previous_;
};

// Fills op.packed from op.weights / op.bias (and, when this CPU supports
// kNeonDot, the int8 copy it uses). Requires a CONV2D or LINEAR op.
void PackWeights(PlannedOp& op);

// int16 scratch elements OptimizedConv2d / OptimizedLinear need for `op`
// with any variant (0 for other kinds).
size_t OptimizedScratchSize(const PlannedOp& op);

// Bytes PackWeights(op) allocates: the int16 rows padded to the depth block
// and the folded biases (0 for kinds without weights). Lets Load bound
// memory before packing anything.
size_t PackedWeightsBytes(const PlannedOp& op);

// Preconditions as in reference_kernels.h, plus: PackWeights(op) was called,
// `scratch` holds OptimizedScratchSize(op) elements and `isa` is supported.
void OptimizedConv2d(const PlannedOp& op, KernelIsa isa, const int8_t* in, int8_t* out, int16_t* scratch);
void OptimizedLinear(const PlannedOp& op, KernelIsa isa, const int8_t* in, int8_t* out, int16_t* scratch);
// out[i] = QuantizeValue(in[i], q) for i < n; every in[i] must be finite.
void OptimizedQuantizeInput(KernelIsa isa, const float* in, size_t n, ActivationQuant q, int8_t* out);
// MaxPool2d (reference_kernels.h) with a vectorised 2x2/stride-2 case.
void OptimizedMaxPool2d(const PlannedOp& op, KernelIsa isa, const int8_t* in, int8_t* out);

}  // namespace fedge

#endif  // FEDGE_INFERENCE_OPTIMIZED_KERNELS_H_
