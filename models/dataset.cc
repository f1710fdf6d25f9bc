#include "models/dataset.h"

#include <torch/torch.h>

#include <cstring>
#include <numeric>
#include <vector>

namespace fedge {

TensorDataset ToTensors(const ImageDataset& data) {
  std::vector<int64_t> all(data.num_examples);
  std::iota(all.begin(), all.end(), 0);
  return ToTensors(data, all);
}

TensorDataset ToTensors(const ImageDataset& data, absl::Span<const int64_t> indices) {
  TensorDataset out = ToRawTensors(data, indices);
  out.images = ModelInput(out.images);
  return out;
}

TensorDataset ToRawTensors(const ImageDataset& data, absl::Span<const int64_t> indices) {
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t pixels = data.rows * data.cols;
  torch::Tensor raw = torch::empty({n, 1, data.rows, data.cols}, torch::kUInt8);
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  auto* raw_ptr = raw.data_ptr<uint8_t>();
  auto* label_ptr = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(raw_ptr + i * pixels, data.images.data() + indices[i] * pixels, pixels);
    label_ptr[i] = data.labels[indices[i]];
  }
  return TensorDataset{raw, labels};
}

TensorDataset ToRawTensors(const ImageDataset& data) {
  const int64_t n = data.num_examples;
  torch::Tensor raw = torch::empty({n, 1, data.rows, data.cols}, torch::kUInt8);
  std::memcpy(raw.data_ptr<uint8_t>(), data.images.data(), static_cast<size_t>(n * data.rows * data.cols));
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  auto* label_ptr = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) label_ptr[i] = data.labels[static_cast<size_t>(i)];
  return TensorDataset{raw, labels};
}

torch::Tensor ModelInput(const torch::Tensor& images) {
  if (images.scalar_type() != torch::kUInt8) return images;
  return images.to(torch::kFloat).div_(255.0f).sub_(kFashionMnistMean).div_(kFashionMnistStd);
}

}  // namespace fedge
