#include "inference/reference_kernels.h"

#include <algorithm>

namespace fedge {
namespace {

// Accumulates one output channel at one output position.
int32_t ConvAt(const PlannedOp& op, const int8_t* in, int oc, int oy, int ox) {
  const int8_t* w = op.weights.data() + static_cast<size_t>(oc) * op.depth;
  int32_t acc = op.bias[oc];
  for (int ic = 0; ic < op.in.c; ++ic) {
    for (int ky = 0; ky < op.kernel_h; ++ky) {
      const int iy = oy * op.stride_h - op.pad_h + ky;
      for (int kx = 0; kx < op.kernel_w; ++kx) {
        const int ix = ox * op.stride_w - op.pad_w + kx;
        // Padding is real 0, i.e. (x - zero_point) == 0: it adds nothing.
        if (iy < 0 || iy >= op.in.h || ix < 0 || ix >= op.in.w) continue;
        const int32_t x = in[(static_cast<size_t>(ic) * op.in.h + iy) * op.in.w + ix];
        acc += (x - op.in_q.zero_point) * w[(ic * op.kernel_h + ky) * op.kernel_w + kx];
      }
    }
  }
  return acc;
}

}  // namespace

void ReferenceConv2d(const PlannedOp& op, const int8_t* in, int8_t* out) {
  for (int oc = 0; oc < op.out.c; ++oc) {
    for (int oy = 0; oy < op.out.h; ++oy) {
      for (int ox = 0; ox < op.out.w; ++ox) {
        *out++ = RequantizeToInt8(ConvAt(op, in, oc, oy, ox), op.multipliers[oc], op.out_q.zero_point, op.act_min,
                                  op.act_max);
      }
    }
  }
}

void ReferenceLinear(const PlannedOp& op, const int8_t* in, int8_t* out) {
  for (int o = 0; o < op.out_channels; ++o) {
    const int8_t* w = op.weights.data() + static_cast<size_t>(o) * op.depth;
    int32_t acc = op.bias[o];
    for (int k = 0; k < op.depth; ++k) acc += (int32_t{in[k]} - op.in_q.zero_point) * w[k];
    out[o] = RequantizeToInt8(acc, op.multipliers[o], op.out_q.zero_point, op.act_min, op.act_max);
  }
}

void MaxPool2d(const PlannedOp& op, const int8_t* in, int8_t* out) {
  for (int c = 0; c < op.out.c; ++c) {
    const int8_t* plane = in + static_cast<size_t>(c) * op.in.h * op.in.w;
    for (int oy = 0; oy < op.out.h; ++oy) {
      const int y0 = std::max(oy * op.stride_h - op.pad_h, 0);
      const int y1 = std::min(oy * op.stride_h - op.pad_h + op.kernel_h, op.in.h);
      for (int ox = 0; ox < op.out.w; ++ox) {
        const int x0 = std::max(ox * op.stride_w - op.pad_w, 0);
        const int x1 = std::min(ox * op.stride_w - op.pad_w + op.kernel_w, op.in.w);
        // Padded cells are ignored (never selected), as in PyTorch.
        int8_t best = plane[y0 * op.in.w + x0];
        for (int y = y0; y < y1; ++y) {
          for (int x = x0; x < x1; ++x) best = std::max(best, plane[y * op.in.w + x]);
        }
        *out++ = best;
      }
    }
  }
}

void AvgPool2d(const PlannedOp& op, const int8_t* in, int8_t* out) {
  const int32_t zp = op.in_q.zero_point;
  for (int c = 0; c < op.out.c; ++c) {
    const int8_t* plane = in + static_cast<size_t>(c) * op.in.h * op.in.w;
    for (int oy = 0; oy < op.out.h; ++oy) {
      const int y0 = std::max(oy * op.stride_h - op.pad_h, 0);
      const int y1 = std::min(oy * op.stride_h - op.pad_h + op.kernel_h, op.in.h);
      for (int ox = 0; ox < op.out.w; ++ox) {
        const int x0 = std::max(ox * op.stride_w - op.pad_w, 0);
        const int x1 = std::min(ox * op.stride_w - op.pad_w + op.kernel_w, op.in.w);
        // Padded cells are real 0 and the divisor is always kh*kw (folded
        // into the multiplier): PyTorch's count_include_pad=True.
        int32_t sum = 0;
        for (int y = y0; y < y1; ++y) {
          for (int x = x0; x < x1; ++x) sum += int32_t{plane[y * op.in.w + x]} - zp;
        }
        *out++ = RequantizeToInt8(sum, op.multipliers[0], op.out_q.zero_point, op.act_min, op.act_max);
      }
    }
  }
}

void Relu(const PlannedOp& op, const int8_t* in, int8_t* out) {
  const int8_t lo = static_cast<int8_t>(op.act_min);
  const int64_t n = op.in.size();
  for (int64_t i = 0; i < n; ++i) out[i] = std::max(in[i], lo);
}

}  // namespace fedge
