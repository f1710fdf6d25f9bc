// File: privacy/dpsgd/im2col.h
//
// A fast im2col for the per-example gradients of Conv2d. ATen's im2col
// computes every element with bounds checks (about 1 ns each), which made it
// the largest cost of a DP-SGD step on small CNNs; this one copies each
// output row as a contiguous run (plus zero fill at padded edges) into a
// caller-owned buffer that is reused across steps.
#ifndef FEDGE_PRIVACY_DPSGD_IM2COL_H_
#define FEDGE_PRIVACY_DPSGD_IM2COL_H_

#include <array>
#include <cstdint>

#include <torch/types.h>

namespace fedge {

struct Conv2dGeometry {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
};

// Unfolds `input` [B, C, H, W] (float or double) into `buffer`, resized to
// [B, C·kh·kw, L] with L = oh·ow, row (c, i, j) holding input[c] at kernel
// offset (i, j) for every output position, zero where it falls in the
// padding: the same layout as torch::nn::functional::unfold. Returns
// `buffer`. Throws c10::Error on invalid shapes (callers catch at the API
// edge).
torch::Tensor& Im2Col(const torch::Tensor& input, const Conv2dGeometry& geometry, torch::Tensor& buffer);

}  // namespace fedge

#endif  // FEDGE_PRIVACY_DPSGD_IM2COL_H_
