#include "client/data/idx_source.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fedge {

IdxSource::IdxSource(std::vector<uint8_t> images, std::vector<uint8_t> labels, int64_t dim, std::string name)
    : images_(std::move(images)),
      labels_(std::move(labels)),
      dim_(dim),
      num_examples_(static_cast<int64_t>(labels_.size())),
      name_(std::move(name)) {}

absl::StatusOr<std::unique_ptr<IdxSource>> IdxSource::Create(const ImageDataset& data,
                                                             absl::Span<const int64_t> indices, std::string name) {
  if (indices.empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": no examples selected"));
  const int64_t dim = data.rows * data.cols;
  if (dim < 1 || static_cast<int64_t>(data.images.size()) != data.num_examples * dim ||
      static_cast<int64_t>(data.labels.size()) != data.num_examples) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": image and label sizes disagree"));
  }
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
  images.reserve(indices.size() * static_cast<size_t>(dim));
  labels.reserve(indices.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= data.num_examples) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": example index ", i, " is outside the dataset of ", data.num_examples));
    }
    const auto first = data.images.begin() + i * dim;
    images.insert(images.end(), first, first + dim);
    labels.push_back(data.labels[static_cast<size_t>(i)]);
  }
  return std::unique_ptr<IdxSource>(new IdxSource(std::move(images), std::move(labels), dim, std::move(name)));
}

absl::StatusOr<std::unique_ptr<IdxSource>> IdxSource::Create(ImageDataset data, std::string name) {
  const int64_t dim = data.rows * data.cols;
  if (data.num_examples < 1) return absl::InvalidArgumentError(absl::StrCat(name, ": no examples selected"));
  if (dim < 1 || static_cast<int64_t>(data.images.size()) != data.num_examples * dim ||
      static_cast<int64_t>(data.labels.size()) != data.num_examples) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": image and label sizes disagree"));
  }
  return std::unique_ptr<IdxSource>(
      new IdxSource(std::move(data.images), std::move(data.labels), dim, std::move(name)));
}

absl::StatusOr<int64_t> IdxSource::Poll(int64_t max_examples, std::vector<SourceExample>* out) {
  if (max_examples < 1) return absl::InvalidArgumentError("Poll: max_examples must be >= 1");
  const int64_t n = std::min(max_examples, num_examples_ - next_);
  for (int64_t k = 0; k < n; ++k, ++next_) {
    SourceExample example;
    const auto first = images_.begin() + next_ * dim_;
    example.bytes.assign(first, first + dim_);
    example.label = labels_[static_cast<size_t>(next_)];
    out->push_back(std::move(example));
  }
  stats_.examples += static_cast<uint64_t>(n);
  if (n > 0 && exhausted()) {
    stats_.files_read = 1;
    // The copy is no longer needed once everything was handed out.
    std::vector<uint8_t>().swap(images_);
  }
  return n;
}

}  // namespace fedge
