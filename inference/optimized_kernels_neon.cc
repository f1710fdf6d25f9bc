#include "inference/optimized_kernels_neon.h"

#if FEDGE_INFERENCE_HAVE_NEON
#include <arm_neon.h>
#include <sys/auxv.h>

#include <algorithm>
#endif

namespace fedge {

#if !FEDGE_INFERENCE_HAVE_NEON

bool NeonKernelsSupported() { return false; }
bool NeonDotKernelsSupported() { return false; }

#else

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)  // Linux arm64 uapi: asimddp in /proc/cpuinfo
#endif

bool NeonKernelsSupported() { return true; }

bool NeonDotKernelsSupported() {
  static const bool supported = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
  return supported;
}

// Only the functions that issue SDOT carry the extension; the helpers they
// share with the baseline kernels are inlined into them.
#define FEDGE_NEON_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#define FEDGE_NEON_INLINE __attribute__((always_inline)) inline

namespace {

// Output positions per column block, as in the portable GEMM: the block's
// im2col rows stay in L1/L2 while every channel passes over them.
constexpr int kColBlock = 64;

// Requantisation constants of four consecutive output channels, one lane each.
struct Requant4 {
  int32x4_t bias, multiplier, left, right, zero_point, lo, hi;
};

FEDGE_NEON_INLINE Requant4 LoadRequant4(const PlannedOp& op, int r0) {
  int32_t bias[4], multiplier[4], left[4], right[4];
  for (int i = 0; i < 4; ++i) {
    const QuantizedMultiplier m = op.multipliers[r0 + i];
    bias[i] = op.packed.bias_with_zp[r0 + i];
    multiplier[i] = m.multiplier;
    left[i] = m.shift > 0 ? m.shift : 0;
    right[i] = m.shift > 0 ? 0 : m.shift;  // SRSHL by a negative count shifts right
  }
  return Requant4{vld1q_s32(bias),
                  vld1q_s32(multiplier),
                  vld1q_s32(left),
                  vld1q_s32(right),
                  vdupq_n_s32(op.out_q.zero_point),
                  vdupq_n_s32(op.act_min),
                  vdupq_n_s32(op.act_max)};
}

// RequantizeToInt8 (graph_plan.h) on four channels' dot products.
FEDGE_NEON_INLINE int32x4_t Requantize4(int32x4_t dot, const Requant4& q) {
  int32x4_t x = vaddq_s32(dot, q.bias);
  x = vqshlq_s32(x, q.left);          // saturating, as MultiplyByQuantizedMultiplier
  x = vqrdmulhq_s32(x, q.multiplier);  // (2xm + 2^31) >> 32 == the scalar high multiply for m >= 0
  // SRSHL rounds ties up; subtracting 1 from negative values (only when
  // shifting) turns that into ties away from zero. The saturating add keeps
  // INT32_MIN, whose quotient is exact anyway.
  const int32x4_t fixup = vshrq_n_s32(vandq_s32(x, q.right), 31);
  x = vrshlq_s32(vqaddq_s32(x, fixup), q.right);
  x = vaddq_s32(x, q.zero_point);
  return vminq_s32(vmaxq_s32(x, q.lo), q.hi);
}

// Writes lane i of `v` (channel r0 + i) at position p of the [rows][ncols] output.
FEDGE_NEON_INLINE void StoreChannels(int32x4_t v, int8_t* out, int r0, int ncols, int p) {
  int8_t* dst = out + static_cast<size_t>(r0) * ncols + p;
  dst[0] = static_cast<int8_t>(vgetq_lane_s32(v, 0));
  dst[ncols] = static_cast<int8_t>(vgetq_lane_s32(v, 1));
  dst[2 * static_cast<size_t>(ncols)] = static_cast<int8_t>(vgetq_lane_s32(v, 2));
  dst[3 * static_cast<size_t>(ncols)] = static_cast<int8_t>(vgetq_lane_s32(v, 3));
}

// [sum(a), sum(b), sum(c), sum(d)]: one lane per channel.
FEDGE_NEON_INLINE int32x4_t ReduceChannels(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
  return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
}

FEDGE_NEON_INLINE int8_t FinishScalar(const PlannedOp& op, int row, int32_t dot) {
  return RequantizeToInt8(dot + op.packed.bias_with_zp[row], op.multipliers[row], op.out_q.zero_point, op.act_min,
                          op.act_max);
}

// Four channels (rows of `w`) x P positions (rows of `x`), int16 SMLAL.
template <int P>
FEDGE_NEON_INLINE void Dot4(const int16_t* w, int depth, const int16_t* x, int32x4_t sums[P]) {
  int32x4_t acc[4][P];
  for (int c = 0; c < 4; ++c) {
    for (int p = 0; p < P; ++p) acc[c][p] = vdupq_n_s32(0);
  }
  for (int k = 0; k < depth; k += 8) {
    int16x8_t xv[P];
    for (int p = 0; p < P; ++p) xv[p] = vld1q_s16(x + static_cast<size_t>(p) * depth + k);
    for (int c = 0; c < 4; ++c) {
      const int16x8_t wv = vld1q_s16(w + static_cast<size_t>(c) * depth + k);
      for (int p = 0; p < P; ++p) {
        acc[c][p] = vmlal_s16(acc[c][p], vget_low_s16(wv), vget_low_s16(xv[p]));
        acc[c][p] = vmlal_high_s16(acc[c][p], wv, xv[p]);
      }
    }
  }
  for (int p = 0; p < P; ++p) sums[p] = ReduceChannels(acc[0][p], acc[1][p], acc[2][p], acc[3][p]);
}

FEDGE_NEON_INLINE int32_t Dot1(const int16_t* w, int depth, const int16_t* x) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int k = 0; k < depth; k += 8) {
    const int16x8_t wv = vld1q_s16(w + k);
    const int16x8_t xv = vld1q_s16(x + k);
    acc = vmlal_s16(acc, vget_low_s16(wv), vget_low_s16(xv));
    acc = vmlal_high_s16(acc, wv, xv);
  }
  return vaddvq_s32(acc);
}

// The same with int8 values and SDOT (four products per lane per step).
template <int P>
FEDGE_NEON_DOT FEDGE_NEON_INLINE void DotS8x4(const int8_t* w, int depth, const int8_t* x, int32x4_t sums[P]) {
  int32x4_t acc[4][P];
  for (int c = 0; c < 4; ++c) {
    for (int p = 0; p < P; ++p) acc[c][p] = vdupq_n_s32(0);
  }
  for (int k = 0; k < depth; k += 16) {
    int8x16_t xv[P];
    for (int p = 0; p < P; ++p) xv[p] = vld1q_s8(x + static_cast<size_t>(p) * depth + k);
    for (int c = 0; c < 4; ++c) {
      const int8x16_t wv = vld1q_s8(w + static_cast<size_t>(c) * depth + k);
      for (int p = 0; p < P; ++p) acc[c][p] = vdotq_s32(acc[c][p], wv, xv[p]);
    }
  }
  for (int p = 0; p < P; ++p) sums[p] = ReduceChannels(acc[0][p], acc[1][p], acc[2][p], acc[3][p]);
}

FEDGE_NEON_DOT FEDGE_NEON_INLINE int32_t DotS8x1(const int8_t* w, int depth, const int8_t* x) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int k = 0; k < depth; k += 16) acc = vdotq_s32(acc, vld1q_s8(w + k), vld1q_s8(x + k));
  return vaddvq_s32(acc);
}

}  // namespace

void NeonGemmRequantize(const PlannedOp& op, const int16_t* cols, int ncols, int8_t* out) {
  const int depth = op.packed.depth_padded;
  const int rows = op.out_channels;
  const int16_t* w = op.packed.values.data();
  for (int p0 = 0; p0 < ncols; p0 += kColBlock) {
    const int p1 = std::min(ncols, p0 + kColBlock);
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      const int16_t* wr = w + static_cast<size_t>(r) * depth;
      const Requant4 q = LoadRequant4(op, r);
      int p = p0;
      for (; p + 2 <= p1; p += 2) {
        int32x4_t sums[2];
        Dot4<2>(wr, depth, cols + static_cast<size_t>(p) * depth, sums);
        StoreChannels(Requantize4(sums[0], q), out, r, ncols, p);
        StoreChannels(Requantize4(sums[1], q), out, r, ncols, p + 1);
      }
      for (; p < p1; ++p) {
        int32x4_t sums[1];
        Dot4<1>(wr, depth, cols + static_cast<size_t>(p) * depth, sums);
        StoreChannels(Requantize4(sums[0], q), out, r, ncols, p);
      }
    }
    for (; r < rows; ++r) {
      const int16_t* wr = w + static_cast<size_t>(r) * depth;
      for (int p = p0; p < p1; ++p) {
        out[static_cast<size_t>(r) * ncols + p] =
            FinishScalar(op, r, Dot1(wr, depth, cols + static_cast<size_t>(p) * depth));
      }
    }
  }
}

FEDGE_NEON_DOT void NeonDotGemmRequantize(const PlannedOp& op, const int8_t* cols, int ncols, int8_t* out) {
  const int depth = op.packed.depth_padded;
  const int rows = op.out_channels;
  const int8_t* w = op.packed.values_s8.data();
  for (int p0 = 0; p0 < ncols; p0 += kColBlock) {
    const int p1 = std::min(ncols, p0 + kColBlock);
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      const int8_t* wr = w + static_cast<size_t>(r) * depth;
      const Requant4 q = LoadRequant4(op, r);
      int p = p0;
      for (; p + 2 <= p1; p += 2) {
        int32x4_t sums[2];
        DotS8x4<2>(wr, depth, cols + static_cast<size_t>(p) * depth, sums);
        StoreChannels(Requantize4(sums[0], q), out, r, ncols, p);
        StoreChannels(Requantize4(sums[1], q), out, r, ncols, p + 1);
      }
      for (; p < p1; ++p) {
        int32x4_t sums[1];
        DotS8x4<1>(wr, depth, cols + static_cast<size_t>(p) * depth, sums);
        StoreChannels(Requantize4(sums[0], q), out, r, ncols, p);
      }
    }
    for (; r < rows; ++r) {
      const int8_t* wr = w + static_cast<size_t>(r) * depth;
      for (int p = p0; p < p1; ++p) {
        out[static_cast<size_t>(r) * ncols + p] =
            FinishScalar(op, r, DotS8x1(wr, depth, cols + static_cast<size_t>(p) * depth));
      }
    }
  }
}

// QuantizeValue on 16 floats at a time: the same IEEE division, rounding in
// the current mode (FRINTI, as nearbyint), add, clamp and exact conversion.
void NeonQuantizeInput(const float* in, size_t n, ActivationQuant q, int8_t* out) {
  const float32x4_t scale = vdupq_n_f32(q.scale);
  const float32x4_t zero_point = vdupq_n_f32(static_cast<float>(q.zero_point));
  const float32x4_t lo = vdupq_n_f32(static_cast<float>(kInt8Min));
  const float32x4_t hi = vdupq_n_f32(static_cast<float>(kInt8Max));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    int32x4_t v[4];
    for (int j = 0; j < 4; ++j) {
      float32x4_t x = vdivq_f32(vld1q_f32(in + i + 4 * j), scale);
      x = vaddq_f32(vrndiq_f32(x), zero_point);
      v[j] = vcvtq_s32_f32(vminq_f32(vmaxq_f32(x, lo), hi));
    }
    const int16x8_t low = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
    const int16x8_t high = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
    vst1q_s8(out + i, vcombine_s8(vmovn_s16(low), vmovn_s16(high)));
  }
  for (; i < n; ++i) out[i] = QuantizeValue(in[i], q);
}

bool NeonMaxPool2x2(const PlannedOp& op, const int8_t* in, int8_t* out) {
  if (op.kernel_h != 2 || op.kernel_w != 2 || op.stride_h != 2 || op.stride_w != 2 || op.pad_h != 0 ||
      op.pad_w != 0) {
    return false;
  }
  const int iw = op.in.w;
  const int ow = op.out.w;
  for (int c = 0; c < op.out.c; ++c) {
    const int8_t* plane = in + static_cast<size_t>(c) * op.in.h * iw;
    for (int oy = 0; oy < op.out.h; ++oy) {
      const int8_t* top = plane + static_cast<size_t>(2 * oy) * iw;
      const int8_t* bottom = top + iw;
      int ox = 0;
      // 32 input columns -> 16 outputs: vertical max, then SMAXP of
      // neighbouring columns. Reads stay inside the two rows.
      for (; 2 * ox + 32 <= iw && ox + 16 <= ow; ox += 16) {
        const int8x16_t a = vmaxq_s8(vld1q_s8(top + 2 * ox), vld1q_s8(bottom + 2 * ox));
        const int8x16_t b = vmaxq_s8(vld1q_s8(top + 2 * ox + 16), vld1q_s8(bottom + 2 * ox + 16));
        vst1q_s8(out + ox, vpmaxq_s8(a, b));
      }
      for (; ox < ow; ++ox) {
        const int8_t m0 = std::max(top[2 * ox], top[2 * ox + 1]);
        const int8_t m1 = std::max(bottom[2 * ox], bottom[2 * ox + 1]);
        out[ox] = std::max(m0, m1);
      }
      out += ow;
    }
  }
  return true;
}

#endif  // FEDGE_INFERENCE_HAVE_NEON

}  // namespace fedge
