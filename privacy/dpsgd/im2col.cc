#include "privacy/dpsgd/im2col.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace fedge {
namespace {

struct Shape {
  int64_t channels, height, width, out_height, out_width;
};

// Output columns x whose input column x·s − p + j·d lies in [0, width).
void ValidRange(int64_t offset, int64_t stride, int64_t width, int64_t out_width, int64_t& begin,
                int64_t& end) {
  begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  end = offset > width - 1 ? 0 : std::min(out_width, (width - 1 - offset) / stride + 1);
  begin = std::min(begin, end);
}

template <typename T>
void UnfoldExample(const T* in, const Shape& s, const Conv2dGeometry& g, T* out) {
  const auto [kh, kw] = g.kernel;
  for (int64_t c = 0; c < s.channels; ++c) {
    for (int64_t i = 0; i < kh; ++i) {
      for (int64_t j = 0; j < kw; ++j) {
        const int64_t w_offset = j * g.dilation[1] - g.padding[1];
        int64_t x_begin, x_end;
        ValidRange(w_offset, g.stride[1], s.width, s.out_width, x_begin, x_end);
        for (int64_t y = 0; y < s.out_height; ++y, out += s.out_width) {
          const int64_t h = y * g.stride[0] - g.padding[0] + i * g.dilation[0];
          if (h < 0 || h >= s.height || x_begin == x_end) {
            std::fill(out, out + s.out_width, T(0));
            continue;
          }
          std::fill(out, out + x_begin, T(0));
          const T* row = in + (c * s.height + h) * s.width + w_offset;
          if (g.stride[1] == 1) {
            std::copy(row + x_begin, row + x_end, out + x_begin);
          } else {
            for (int64_t x = x_begin; x < x_end; ++x) out[x] = row[x * g.stride[1]];
          }
          std::fill(out + x_end, out + s.out_width, T(0));
        }
      }
    }
  }
}

}  // namespace

torch::Tensor& Im2Col(const torch::Tensor& input, const Conv2dGeometry& g, torch::Tensor& buffer) {
  TORCH_CHECK(input.dim() == 4, "Im2Col expects [B, C, H, W], got ", input.sizes());
  const torch::Tensor x = input.contiguous();
  Shape s{x.size(1), x.size(2), x.size(3), 0, 0};
  s.out_height = (s.height + 2 * g.padding[0] - g.dilation[0] * (g.kernel[0] - 1) - 1) / g.stride[0] + 1;
  s.out_width = (s.width + 2 * g.padding[1] - g.dilation[1] * (g.kernel[1] - 1) - 1) / g.stride[1] + 1;
  TORCH_CHECK(s.out_height > 0 && s.out_width > 0, "Im2Col: kernel larger than the padded input");
  const int64_t batch = x.size(0), rows = s.channels * g.kernel[0] * g.kernel[1];
  const int64_t cols = s.out_height * s.out_width;
  if (!buffer.defined() || buffer.scalar_type() != x.scalar_type()) buffer = torch::empty({0}, x.options());
  buffer.resize_({batch, rows, cols});
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "Im2Col", [&] {
    const scalar_t* in = x.data_ptr<scalar_t>();
    scalar_t* out = buffer.data_ptr<scalar_t>();
    const int64_t in_size = s.channels * s.height * s.width, out_size = rows * cols;
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) UnfoldExample(in + n * in_size, s, g, out + n * out_size);
    });
  });
  return buffer;
}

}  // namespace fedge
