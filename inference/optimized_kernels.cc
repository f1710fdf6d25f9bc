#include "inference/optimized_kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "inference/optimized_kernels_avx2.h"
#include "inference/optimized_kernels_neon.h"
#include "inference/reference_kernels.h"

namespace fedge {
namespace {

#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FEDGE_INT8_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define FEDGE_INT8_MULTIVERSION
#endif

// -1: no override; else a KernelIsa forced by ScopedKernelIsaOverride.
std::atomic<int> g_isa_override{-1};

// Output positions per column block: 64 rows of a 25x25-patch conv stay in
// L1, a few hundred-wide im2col rows still stay in L2.
constexpr int kColBlock = 64;

int PaddedDepth(int depth) { return (depth + kDepthBlock - 1) / kDepthBlock * kDepthBlock; }

// Four dot products sharing one pass over `x`. Written as plain loops with
// independent accumulators so the vectoriser turns each into pmaddwd chains.
inline __attribute__((always_inline)) void Dot4(const int16_t* __restrict w, int depth, const int16_t* __restrict x,
                                                int32_t acc[4]) {
  const int16_t* __restrict w0 = w;
  const int16_t* __restrict w1 = w + depth;
  const int16_t* __restrict w2 = w + 2 * depth;
  const int16_t* __restrict w3 = w + 3 * depth;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int k = 0; k < depth; ++k) {
    const int32_t xv = x[k];
    a0 += w0[k] * xv;
    a1 += w1[k] * xv;
    a2 += w2[k] * xv;
    a3 += w3[k] * xv;
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

inline __attribute__((always_inline)) int32_t Dot1(const int16_t* __restrict w, int depth,
                                                   const int16_t* __restrict x) {
  int32_t a = 0;
  for (int k = 0; k < depth; ++k) a += w[k] * int32_t{x[k]};
  return a;
}

inline int8_t Finish(const PlannedOp& op, int row, int32_t dot) {
  return RequantizeToInt8(dot + op.packed.bias_with_zp[row], op.multipliers[row], op.out_q.zero_point, op.act_min,
                          op.act_max);
}

// out[r * ncols + p] = requantise(W[r] . cols[p] + bias'[r]) for all r, p.
FEDGE_INT8_MULTIVERSION
void GemmRequantize(const PlannedOp& op, const int16_t* cols, int ncols, int8_t* out) {
  const int depth = op.packed.depth_padded;
  const int rows = op.out_channels;
  const int16_t* w = op.packed.values.data();
  for (int p0 = 0; p0 < ncols; p0 += kColBlock) {
    const int p1 = std::min(ncols, p0 + kColBlock);
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      const int16_t* wr = w + static_cast<size_t>(r) * depth;
      for (int p = p0; p < p1; ++p) {
        int32_t acc[4];
        Dot4(wr, depth, cols + static_cast<size_t>(p) * depth, acc);
        for (int i = 0; i < 4; ++i) out[static_cast<size_t>(r + i) * ncols + p] = Finish(op, r + i, acc[i]);
      }
    }
    for (; r < rows; ++r) {
      const int16_t* wr = w + static_cast<size_t>(r) * depth;
      for (int p = p0; p < p1; ++p) {
        out[static_cast<size_t>(r) * ncols + p] = Finish(op, r, Dot1(wr, depth, cols + static_cast<size_t>(p) * depth));
      }
    }
  }
}

// Writes one receptive field (weight order ic, ky, kx) per output position,
// as int16 (the portable and kNeon GEMMs) or int8 (kNeonDot).
template <typename T>
void Im2Col(const PlannedOp& op, const int8_t* in, T* cols) {
  const int depth = op.packed.depth_padded;
  const T zp = static_cast<T>(op.in_q.zero_point);
  for (int oy = 0; oy < op.out.h; ++oy) {
    for (int ox = 0; ox < op.out.w; ++ox) {
      T* dst = cols + (static_cast<size_t>(oy) * op.out.w + ox) * depth;
      const int x0 = ox * op.stride_w - op.pad_w;
      const bool row_inside = x0 >= 0 && x0 + op.kernel_w <= op.in.w;
      for (int ic = 0; ic < op.in.c; ++ic) {
        const int8_t* plane = in + static_cast<size_t>(ic) * op.in.h * op.in.w;
        for (int ky = 0; ky < op.kernel_h; ++ky, dst += op.kernel_w) {
          const int iy = oy * op.stride_h - op.pad_h + ky;
          if (iy < 0 || iy >= op.in.h) {
            std::fill(dst, dst + op.kernel_w, zp);
          } else if (row_inside) {
            const int8_t* src = plane + static_cast<size_t>(iy) * op.in.w + x0;
            for (int kx = 0; kx < op.kernel_w; ++kx) dst[kx] = src[kx];
          } else {
            for (int kx = 0; kx < op.kernel_w; ++kx) {
              const int ix = x0 + kx;
              dst[kx] = (ix < 0 || ix >= op.in.w) ? zp : T{plane[static_cast<size_t>(iy) * op.in.w + ix]};
            }
          }
        }
      }
      // The padded depth tail meets zero weights; zero it so it adds nothing.
      std::fill(dst, cols + (static_cast<size_t>(oy) * op.out.w + ox + 1) * depth, T{0});
    }
  }
}

}  // namespace

void PackWeights(PlannedOp& op) {
  PackedWeights& packed = op.packed;
  packed.depth_padded = PaddedDepth(op.depth);
  packed.values.assign(static_cast<size_t>(op.out_channels) * packed.depth_padded, 0);
  packed.bias_with_zp.resize(static_cast<size_t>(op.out_channels));
  for (int r = 0; r < op.out_channels; ++r) {
    const int8_t* src = op.weights.data() + static_cast<size_t>(r) * op.depth;
    int16_t* dst = packed.values.data() + static_cast<size_t>(r) * packed.depth_padded;
    int32_t row_sum = 0;
    for (int k = 0; k < op.depth; ++k) {
      dst[k] = src[k];
      row_sum += src[k];
    }
    packed.bias_with_zp[r] = op.bias[r] - op.in_q.zero_point * row_sum;
  }
  packed.values_s8.clear();
  if (NeonDotKernelsSupported()) {
    packed.values_s8.assign(packed.values.begin(), packed.values.end());  // exact: every value came from int8
  }
}

const char* KernelIsaName(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kPortable: return "portable";
    case KernelIsa::kAvx2: return "avx2";
    case KernelIsa::kNeon: return "neon";
    case KernelIsa::kNeonDot: return "neon-dot";
  }
  return "unknown";
}

KernelIsa DetectKernelIsa() {
  const int forced = g_isa_override.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<KernelIsa>(forced);
  if (Avx2KernelsSupported()) return KernelIsa::kAvx2;
  if (NeonDotKernelsSupported()) return KernelIsa::kNeonDot;
  return NeonKernelsSupported() ? KernelIsa::kNeon : KernelIsa::kPortable;
}

std::vector<KernelIsa> SupportedKernelIsas() {
  std::vector<KernelIsa> isas = {KernelIsa::kPortable};
  if (Avx2KernelsSupported()) isas.push_back(KernelIsa::kAvx2);
  if (NeonKernelsSupported()) isas.push_back(KernelIsa::kNeon);
  if (NeonDotKernelsSupported()) isas.push_back(KernelIsa::kNeonDot);
  return isas;
}

ScopedKernelIsaOverride::ScopedKernelIsaOverride(KernelIsa isa)
    : previous_(g_isa_override.exchange(static_cast<int>(isa))) {}

ScopedKernelIsaOverride::~ScopedKernelIsaOverride() { g_isa_override.store(previous_); }

size_t OptimizedScratchSize(const PlannedOp& op) {
  if (op.kind != OpKind::kConv2d && op.kind != OpKind::kLinear) return 0;
  const size_t depth = static_cast<size_t>(PaddedDepth(op.depth));
  size_t size = op.kind == OpKind::kConv2d ? static_cast<size_t>(op.out.h) * op.out.w * depth : depth;
#if FEDGE_INFERENCE_HAVE_AVX2
  size = std::max(size, Avx2ScratchSize(op));
#endif
  return size;
}

size_t PackedWeightsBytes(const PlannedOp& op) {
  if (op.kind != OpKind::kConv2d && op.kind != OpKind::kLinear) return 0;
  const size_t channels = static_cast<size_t>(op.out_channels);
  const size_t weight_bytes = NeonDotKernelsSupported() ? sizeof(int16_t) + sizeof(int8_t) : sizeof(int16_t);
  return channels * static_cast<size_t>(PaddedDepth(op.depth)) * weight_bytes + channels * sizeof(int32_t);
}

void OptimizedConv2d(const PlannedOp& op, KernelIsa isa, const int8_t* in, int8_t* out, int16_t* scratch) {
#if FEDGE_INFERENCE_HAVE_AVX2
  if (isa == KernelIsa::kAvx2) return Avx2Conv2d(op, in, out, scratch);
#endif
#if FEDGE_INFERENCE_HAVE_NEON
  // The int8 rows take half of the int16 scratch; int8_t may alias it.
  if (isa == KernelIsa::kNeonDot) {
    Im2Col(op, in, reinterpret_cast<int8_t*>(scratch));
    return NeonDotGemmRequantize(op, reinterpret_cast<const int8_t*>(scratch), op.out.h * op.out.w, out);
  }
  if (isa == KernelIsa::kNeon) {
    Im2Col(op, in, scratch);
    return NeonGemmRequantize(op, scratch, op.out.h * op.out.w, out);
  }
#endif
  (void)isa;
  Im2Col(op, in, scratch);
  GemmRequantize(op, scratch, op.out.h * op.out.w, out);
}

void OptimizedQuantizeInput(KernelIsa isa, const float* in, size_t n, ActivationQuant q, int8_t* out) {
#if FEDGE_INFERENCE_HAVE_AVX2
  if (isa == KernelIsa::kAvx2) return Avx2QuantizeInput(in, n, q, out);
#endif
#if FEDGE_INFERENCE_HAVE_NEON
  if (isa == KernelIsa::kNeon || isa == KernelIsa::kNeonDot) return NeonQuantizeInput(in, n, q, out);
#endif
  (void)isa;
  for (size_t i = 0; i < n; ++i) out[i] = QuantizeValue(in[i], q);
}

void OptimizedMaxPool2d(const PlannedOp& op, KernelIsa isa, const int8_t* in, int8_t* out) {
#if FEDGE_INFERENCE_HAVE_AVX2
  if (isa == KernelIsa::kAvx2 && Avx2MaxPool2x2(op, in, out)) return;
#endif
#if FEDGE_INFERENCE_HAVE_NEON
  if ((isa == KernelIsa::kNeon || isa == KernelIsa::kNeonDot) && NeonMaxPool2x2(op, in, out)) return;
#endif
  (void)isa;
  MaxPool2d(op, in, out);
}

void OptimizedLinear(const PlannedOp& op, KernelIsa isa, const int8_t* in, int8_t* out, int16_t* scratch) {
#if FEDGE_INFERENCE_HAVE_AVX2
  if (isa == KernelIsa::kAvx2) return Avx2Linear(op, in, out, scratch);
#endif
  (void)isa;
  const int depth = op.packed.depth_padded;
#if FEDGE_INFERENCE_HAVE_NEON
  if (isa == KernelIsa::kNeonDot) {
    int8_t* row = reinterpret_cast<int8_t*>(scratch);
    std::copy(in, in + op.depth, row);
    std::fill(row + op.depth, row + depth, int8_t{0});
    return NeonDotGemmRequantize(op, row, 1, out);
  }
#endif
  for (int k = 0; k < op.depth; ++k) scratch[k] = in[k];
  std::fill(scratch + op.depth, scratch + depth, int16_t{0});
#if FEDGE_INFERENCE_HAVE_NEON
  if (isa == KernelIsa::kNeon) return NeonGemmRequantize(op, scratch, 1, out);
#endif
  GemmRequantize(op, scratch, 1, out);
}

}  // namespace fedge
