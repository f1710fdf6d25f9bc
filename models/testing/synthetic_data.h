// File: models/testing/synthetic_data.h
//
// Tiny labelled image sets for fast tests of training, evaluation and the
// device loop: 28x28 images whose class is encoded in their brightness, so
// any zoo model learns them in a few steps.
#ifndef FEDGE_MODELS_TESTING_SYNTHETIC_DATA_H_
#define FEDGE_MODELS_TESTING_SYNTHETIC_DATA_H_

#include <cstdint>

#include "core/idx.h"

namespace fedge::testing {

// `n` images of 28x28; example i has label i % num_classes and every pixel
// set to 20 + 200 * label / (num_classes - 1), plus a small deterministic
// per-pixel ripple so images of a class are not all identical.
// REQUIRES: n >= 0, 2 <= num_classes <= 10.
inline ImageDataset BrightnessDataset(int64_t n, int num_classes = 2) {
  ImageDataset data;
  data.num_examples = n;
  data.rows = data.cols = 28;
  data.images.reserve(n * 784);
  for (int64_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % num_classes);
    const int base = 20 + 200 * label / (num_classes - 1);
    for (int p = 0; p < 784; ++p) data.images.push_back(static_cast<uint8_t>(base + (p * 7 + i * 3) % 11));
    data.labels.push_back(static_cast<uint8_t>(label));
  }
  return data;
}

}  // namespace fedge::testing

#endif  // FEDGE_MODELS_TESTING_SYNTHETIC_DATA_H_
