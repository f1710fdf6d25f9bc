#include "inference/optimized_kernels_avx2.h"

#if FEDGE_INFERENCE_HAVE_AVX2
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>
#endif

namespace fedge {

#if !FEDGE_INFERENCE_HAVE_AVX2

bool Avx2KernelsSupported() { return false; }

#else

bool Avx2KernelsSupported() { return __builtin_cpu_supports("avx2"); }

// Every function that touches 256-bit intrinsics carries the target
// attribute; the helpers are force-inlined into their AVX2 callers.
#define FEDGE_AVX2 __attribute__((target("avx2")))
#define FEDGE_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline

namespace {

// Output positions per GEMM panel: two ymm registers of int32 lanes.
constexpr int kPanel = 16;

int PairCount(const PlannedOp& op) { return (op.depth + 1) / 2; }

size_t PaddedPositions(const PlannedOp& op) {
  const size_t positions = static_cast<size_t>(op.out.h) * op.out.w;
  return (positions + kPanel - 1) / kPanel * kPanel;
}

// Requantisation constants of one output channel, broadcast to all lanes.
struct LaneRequant {
  __m256i bias, multiplier, zero_point, lo, hi;
  int left = 0;   // saturating left shift, 0..15
  int right = 0;  // rounding right shift, 0..31
};

FEDGE_AVX2_INLINE LaneRequant ChannelRequant(const PlannedOp& op, int c) {
  const QuantizedMultiplier m = op.multipliers[c];
  LaneRequant r;
  r.bias = _mm256_set1_epi32(op.packed.bias_with_zp[c]);
  r.multiplier = _mm256_set1_epi32(m.multiplier);
  r.zero_point = _mm256_set1_epi32(op.out_q.zero_point);
  r.lo = _mm256_set1_epi32(op.act_min);
  r.hi = _mm256_set1_epi32(op.act_max);
  r.left = m.shift > 0 ? m.shift : 0;
  r.right = m.shift > 0 ? 0 : -m.shift;
  return r;
}

// SaturatingRoundingDoublingHighMul for a multiplier m >= 0: the scalar
// definition ((a*m + nudge) / 2^31, truncating, nudge = ±2^30) equals
// floor((a*m + 2^30) / 2^31) for both signs, and the low 32 bits of that are
// bits 31..62 of the 64-bit sum, which a logical shift extracts.
FEDGE_AVX2_INLINE __m256i HighMul(__m256i a, __m256i m) {
  const __m256i half = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(a, m), half), 31);
  const __m256i odd = _mm256_slli_epi64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), m), half), 1);
  return _mm256_blend_epi32(even, odd, 0xAA);
}

// RequantizeToInt8 on 8 accumulators (dot products without the bias).
FEDGE_AVX2_INLINE __m256i Requantize8(__m256i dot, const LaneRequant& r) {
  __m256i x = _mm256_add_epi32(dot, r.bias);
  if (r.left > 0) {
    const __m256i over = _mm256_cmpgt_epi32(x, _mm256_set1_epi32(std::numeric_limits<int32_t>::max() >> r.left));
    const __m256i under = _mm256_cmpgt_epi32(_mm256_set1_epi32(std::numeric_limits<int32_t>::min() >> r.left), x);
    x = _mm256_sll_epi32(x, _mm_cvtsi32_si128(r.left));
    x = _mm256_blendv_epi8(x, _mm256_set1_epi32(std::numeric_limits<int32_t>::max()), over);
    x = _mm256_blendv_epi8(x, _mm256_set1_epi32(std::numeric_limits<int32_t>::min()), under);
  }
  x = HighMul(x, r.multiplier);
  // RoundingDivideByPOT: round half away from zero via the remainder test.
  const int32_t mask_value = static_cast<int32_t>((int64_t{1} << r.right) - 1);
  const __m256i mask = _mm256_set1_epi32(mask_value);
  const __m256i remainder = _mm256_and_si256(x, mask);
  const __m256i negative = _mm256_cmpgt_epi32(_mm256_setzero_si256(), x);
  const __m256i threshold = _mm256_sub_epi32(_mm256_set1_epi32(mask_value >> 1), negative);
  x = _mm256_sra_epi32(x, _mm_cvtsi32_si128(r.right));
  x = _mm256_sub_epi32(x, _mm256_cmpgt_epi32(remainder, threshold));
  x = _mm256_add_epi32(x, r.zero_point);
  return _mm256_min_epi32(_mm256_max_epi32(x, r.lo), r.hi);
}

// Narrows two vectors of in-range int32 (positions 0-7, 8-15) to 16 int8.
FEDGE_AVX2_INLINE __m128i NarrowTo16Bytes(__m256i a, __m256i b) {
  const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
  return _mm_packs_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
}

FEDGE_AVX2_INLINE void StorePanel(__m128i bytes, int8_t* dst, size_t valid) {
  if (valid >= kPanel) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), bytes);
    return;
  }
  alignas(16) int8_t tmp[kPanel];
  _mm_store_si128(reinterpret_cast<__m128i*>(tmp), bytes);
  std::memcpy(dst, tmp, valid);
}

FEDGE_AVX2_INLINE __m256i BroadcastPair(const int16_t* w) {
  int32_t pair;
  std::memcpy(&pair, w, sizeof(pair));
  return _mm256_set1_epi32(pair);
}

// NC output channels (from c0) x one panel of 16 positions (from p0).
template <int NC>
FEDGE_AVX2_INLINE void ConvPanel(const PlannedOp& op, const int16_t* cols, size_t padded_positions, int c0,
                                 size_t p0, int8_t* out) {
  const int depth = op.packed.depth_padded;
  const int pairs = PairCount(op);
  const int16_t* w = op.packed.values.data() + static_cast<size_t>(c0) * depth;
  __m256i acc[NC][2];
  for (int c = 0; c < NC; ++c) acc[c][0] = acc[c][1] = _mm256_setzero_si256();
  const int16_t* x = cols + 2 * p0;
  for (int kk = 0; kk < pairs; ++kk, x += 2 * padded_positions) {
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 16));
    for (int c = 0; c < NC; ++c) {
      const __m256i wv = BroadcastPair(w + static_cast<size_t>(c) * depth + 2 * kk);
      acc[c][0] = _mm256_add_epi32(acc[c][0], _mm256_madd_epi16(x0, wv));
      acc[c][1] = _mm256_add_epi32(acc[c][1], _mm256_madd_epi16(x1, wv));
    }
  }
  const size_t positions = static_cast<size_t>(op.out.h) * op.out.w;
  for (int c = 0; c < NC; ++c) {
    const LaneRequant r = ChannelRequant(op, c0 + c);
    const __m128i bytes = NarrowTo16Bytes(Requantize8(acc[c][0], r), Requantize8(acc[c][1], r));
    StorePanel(bytes, out + static_cast<size_t>(c0 + c) * positions + p0, positions - p0);
  }
}

// One position of the receptive field, decoded once per GEMM pass.
struct Tap {
  bool real = false;  // false past the last tap (odd depth): reads as 0
  int ic = 0, ky = 0, kx = 0;
};

Tap DecodeTap(const PlannedOp& op, int k) {
  Tap t;
  if (k >= op.depth) return t;
  t.real = true;
  t.kx = k % op.kernel_w;
  t.ky = (k / op.kernel_w) % op.kernel_h;
  t.ic = k / (op.kernel_w * op.kernel_h);
  return t;
}

// Where the values of tap t for output row oy come from: a contiguous run of
// the input (stride 1, fully inside the input), or nullptr otherwise.
FEDGE_AVX2_INLINE const int8_t* ContiguousTapRow(const PlannedOp& op, const int8_t* in, const Tap& t, int oy) {
  if (!t.real || op.stride_w != 1) return nullptr;
  const int iy = oy * op.stride_h - op.pad_h + t.ky;
  const int ix0 = t.kx - op.pad_w;
  if (iy < 0 || iy >= op.in.h || ix0 < 0 || ix0 + op.out.w > op.in.w) return nullptr;
  return in + (static_cast<size_t>(t.ic) * op.in.h + iy) * op.in.w + ix0;
}

// General case of the above: writes the out.w values tap t sees on output
// row oy (zero point where it reads padding, 0 past the last tap).
FEDGE_AVX2_INLINE void FillTapRow(const PlannedOp& op, const int8_t* in, const Tap& t, int oy, int16_t* row) {
  const int ow = op.out.w;
  const int iy = oy * op.stride_h - op.pad_h + t.ky;
  if (!t.real || iy < 0 || iy >= op.in.h) {
    std::fill(row, row + ow, static_cast<int16_t>(t.real ? op.in_q.zero_point : 0));
    return;
  }
  const int8_t* src = in + (static_cast<size_t>(t.ic) * op.in.h + iy) * op.in.w;
  const int16_t zp = static_cast<int16_t>(op.in_q.zero_point);
  for (int ox = 0; ox < ow; ++ox) {
    const int ix = ox * op.stride_w - op.pad_w + t.kx;
    row[ox] = (ix < 0 || ix >= op.in.w) ? zp : int16_t{src[ix]};
  }
}

// Interleaves 16 int16 values of a and b into dst (a0 b0 a1 b1 ...).
FEDGE_AVX2_INLINE void Interleave16(__m256i a, __m256i b, int16_t* dst) {
  // Unpacking works within 128-bit halves (lo = values 0-3 | 8-11, hi =
  // 4-7 | 12-15); the two cross-half permutes restore position order.
  const __m256i lo = _mm256_unpacklo_epi16(a, b);
  const __m256i hi = _mm256_unpackhi_epi16(a, b);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
}

// dst[2i] = a[i], dst[2i + 1] = b[i] for i < n, widening int8 or int16.
template <typename T>
FEDGE_AVX2_INLINE void InterleaveRows(const T* a, const T* b, int n, int16_t* dst) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    if constexpr (sizeof(T) == 1) {
      Interleave16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i))),
                   _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i))), dst + 2 * i);
    } else {
      Interleave16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)),
                   _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)), dst + 2 * i);
    }
  }
  if (i + 8 <= n) {
    __m128i va, vb;
    if constexpr (sizeof(T) == 1) {
      va = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + i)));
      vb = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + i)));
    } else {
      va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
      vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i), _mm_unpacklo_epi16(va, vb));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i + 8), _mm_unpackhi_epi16(va, vb));
    i += 8;
  }
  for (; i < n; ++i) {
    dst[2 * i] = a[i];
    dst[2 * i + 1] = b[i];
  }
}

// Transposed, pair-interleaved im2col: cols[kk][p][j] = value of tap 2kk+j
// at output position p; positions past the end are zero.
FEDGE_AVX2 void Im2ColPairs(const PlannedOp& op, const int8_t* in, int16_t* cols, size_t padded_positions,
                            int16_t* rows) {
  const int ow = op.out.w;
  const size_t positions = static_cast<size_t>(op.out.h) * ow;
  int16_t* row_a = rows;
  int16_t* row_b = rows + ow;
  for (int kk = 0; kk < PairCount(op); ++kk) {
    const Tap tap_a = DecodeTap(op, 2 * kk);
    const Tap tap_b = DecodeTap(op, 2 * kk + 1);
    int16_t* pair_row = cols + 2 * static_cast<size_t>(kk) * padded_positions;
    for (int oy = 0; oy < op.out.h; ++oy) {
      int16_t* dst = pair_row + 2 * static_cast<size_t>(oy) * ow;
      const int8_t* src_a = ContiguousTapRow(op, in, tap_a, oy);
      const int8_t* src_b = ContiguousTapRow(op, in, tap_b, oy);
      if (src_a != nullptr && src_b != nullptr) {
        InterleaveRows(src_a, src_b, ow, dst);
      } else {
        FillTapRow(op, in, tap_a, oy, row_a);
        FillTapRow(op, in, tap_b, oy, row_b);
        InterleaveRows<int16_t>(row_a, row_b, ow, dst);
      }
    }
    std::fill(pair_row + 2 * positions, pair_row + 2 * padded_positions, int16_t{0});
  }
}

FEDGE_AVX2_INLINE int32_t HorizontalSum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

}  // namespace

size_t Avx2ScratchSize(const PlannedOp& op) {
  if (op.kind == OpKind::kConv2d) {
    return 2 * PaddedPositions(op) * static_cast<size_t>(PairCount(op)) + 2 * static_cast<size_t>(op.out.w);
  }
  if (op.kind == OpKind::kLinear) return static_cast<size_t>(op.depth + 15) / 16 * 16;
  return 0;
}

FEDGE_AVX2 void Avx2Conv2d(const PlannedOp& op, const int8_t* in, int8_t* out, int16_t* scratch) {
  const size_t padded = PaddedPositions(op);
  int16_t* rows = scratch + 2 * padded * static_cast<size_t>(PairCount(op));
  Im2ColPairs(op, in, scratch, padded, rows);
  const int channels = op.out_channels;
  for (size_t p0 = 0; p0 < padded; p0 += kPanel) {
    int c = 0;
    for (; c + 4 <= channels; c += 4) ConvPanel<4>(op, scratch, padded, c, p0, out);
    switch (channels - c) {
      case 3: ConvPanel<3>(op, scratch, padded, c, p0, out); break;
      case 2: ConvPanel<2>(op, scratch, padded, c, p0, out); break;
      case 1: ConvPanel<1>(op, scratch, padded, c, p0, out); break;
      default: break;
    }
  }
}

// One example: a dot product per output along the (padded) depth, which is
// a multiple of 16 with zero weights in the tail.
FEDGE_AVX2 void Avx2Linear(const PlannedOp& op, const int8_t* in, int8_t* out, int16_t* scratch) {
  const int depth = op.packed.depth_padded;
  for (int k = 0; k < op.depth; ++k) scratch[k] = in[k];
  std::fill(scratch + op.depth, scratch + depth, int16_t{0});
  const int16_t* w = op.packed.values.data();
  for (int o = 0; o < op.out_channels; ++o, w += depth) {
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
    int k = 0;
    for (; k + 32 <= depth; k += 32) {
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k)),
                                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scratch + k))));
      acc1 = _mm256_add_epi32(
          acc1, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k + 16)),
                                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scratch + k + 16))));
    }
    if (k < depth) {
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k)),
                                                       _mm256_loadu_si256(reinterpret_cast<const __m256i*>(scratch + k))));
    }
    const int32_t dot = HorizontalSum(_mm256_add_epi32(acc0, acc1));
    out[o] = RequantizeToInt8(dot + op.packed.bias_with_zp[o], op.multipliers[o], op.out_q.zero_point, op.act_min,
                              op.act_max);
  }
}

// QuantizeValue (quantization.h) on 8 floats at a time: the same IEEE
// division, round-half-even (the default rounding mode, as nearbyint), add,
// clamp and truncation, so the bytes are identical.
FEDGE_AVX2 void Avx2QuantizeInput(const float* in, size_t n, ActivationQuant q, int8_t* out) {
  const __m256 scale = _mm256_set1_ps(q.scale);
  const __m256 zero_point = _mm256_set1_ps(static_cast<float>(q.zero_point));
  const __m256 lo = _mm256_set1_ps(static_cast<float>(kInt8Min));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(kInt8Max));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i v[2];
    for (int j = 0; j < 2; ++j) {
      __m256 x = _mm256_div_ps(_mm256_loadu_ps(in + i + 8 * j), scale);
      x = _mm256_add_ps(_mm256_round_ps(x, _MM_FROUND_CUR_DIRECTION), zero_point);
      v[j] = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(x, lo), hi));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), NarrowTo16Bytes(v[0], v[1]));
  }
  for (; i < n; ++i) out[i] = QuantizeValue(in[i], q);
}

FEDGE_AVX2 bool Avx2MaxPool2x2(const PlannedOp& op, const int8_t* in, int8_t* out) {
  if (op.kernel_h != 2 || op.kernel_w != 2 || op.stride_h != 2 || op.stride_w != 2 || op.pad_h != 0 ||
      op.pad_w != 0) {
    return false;
  }
  const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m128i odd = _mm_setr_epi8(1, 3, 5, 7, 9, 11, 13, 15, -1, -1, -1, -1, -1, -1, -1, -1);
  const int iw = op.in.w;
  const int ow = op.out.w;
  for (int c = 0; c < op.out.c; ++c) {
    const int8_t* plane = in + static_cast<size_t>(c) * op.in.h * iw;
    for (int oy = 0; oy < op.out.h; ++oy) {
      const int8_t* top = plane + static_cast<size_t>(2 * oy) * iw;
      const int8_t* bottom = top + iw;
      int ox = 0;
      // 16 input columns -> 8 outputs; reads stay inside the two rows.
      for (; 2 * ox + 16 <= iw && ox + 8 <= ow; ox += 8) {
        const __m128i v = _mm_max_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(top + 2 * ox)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(bottom + 2 * ox)));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + ox),
                         _mm_max_epi8(_mm_shuffle_epi8(v, even), _mm_shuffle_epi8(v, odd)));
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

#endif  // FEDGE_INFERENCE_HAVE_AVX2

}  // namespace fedge
