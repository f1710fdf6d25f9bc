#include "simulations/drift_transform.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

namespace fedge {
namespace {

uint8_t ToPixel(double unit) { return static_cast<uint8_t>(std::lround(std::clamp(unit, 0.0, 1.0) * 255.0)); }

// Uniform in [0, 1) from a seed, without a generator object per call site.
double UnitDraw(uint64_t seed) { return static_cast<double>(DeriveSeed(seed, 0x75) >> 11) * 0x1.0p-53; }

}  // namespace

DriftTransform TransformAt(const DriftSettings& drift, double progress) {
  DriftTransform t;
  t.kind = drift.kind;
  t.progress = std::clamp(progress, 0.0, 1.0);
  t.magnitude = FullMagnitude(drift) * t.progress;
  t.contrast = 1 + (drift.contrast - 1) * t.progress;
  t.labels = drift.labels;
  return t;
}

void RotateImage(absl::Span<const uint8_t> src, int64_t rows, int64_t cols, double degrees, absl::Span<uint8_t> dst) {
  const double theta = degrees * std::numbers::pi / 180.0;
  const double c = std::cos(theta), s = std::sin(theta);
  const double cy = (rows - 1) / 2.0, cx = (cols - 1) / 2.0;
  auto at = [&](int64_t r, int64_t col) -> double {
    return (r < 0 || r >= rows || col < 0 || col >= cols) ? 0.0 : src[r * cols + col];
  };
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t col = 0; col < cols; ++col) {
      // Destination in y-up coordinates about the centre, rotated back by −θ.
      const double u = col - cx, v = cy - r;
      const double su = c * u + s * v, sv = -s * u + c * v;
      const double x = cx + su, y = cy - sv;
      const double x0 = std::floor(x), y0 = std::floor(y);
      const double fx = x - x0, fy = y - y0;
      const auto ix = static_cast<int64_t>(x0), iy = static_cast<int64_t>(y0);
      const double value = (1 - fy) * ((1 - fx) * at(iy, ix) + fx * at(iy, ix + 1)) +
                           fy * ((1 - fx) * at(iy + 1, ix) + fx * at(iy + 1, ix + 1));
      dst[r * cols + col] = static_cast<uint8_t>(std::lround(std::clamp(value, 0.0, 255.0)));
    }
  }
}

void AdjustBrightness(absl::Span<uint8_t> image, double offset, double contrast) {
  for (uint8_t& p : image) p = ToPixel(contrast * (p / 255.0 - 0.5) + 0.5 + offset);
}

void AddSensorNoise(absl::Span<uint8_t> image, double std, uint64_t seed) {
  SeededRandom rng(seed);
  std::normal_distribution<double> noise(0.0, std);
  for (uint8_t& p : image) p = ToPixel(p / 255.0 + noise(rng));
}

int SwapLabel(int label, int a, int b) { return label == a ? b : label == b ? a : label; }

void TransformImage(const DriftTransform& t, absl::Span<const uint8_t> src, int64_t rows, int64_t cols, uint64_t seed,
                    absl::Span<uint8_t> dst) {
  if (!t.identity() && t.kind == DriftKind::kRotation) {
    RotateImage(src, rows, cols, t.magnitude, dst);
    return;
  }
  std::copy(src.begin(), src.end(), dst.begin());
  if (t.identity()) return;
  if (t.kind == DriftKind::kBrightness) AdjustBrightness(dst, t.magnitude, t.contrast);
  if (t.kind == DriftKind::kNoise && t.magnitude > 0) AddSensorNoise(dst, t.magnitude, seed);
}

int TransformLabel(const DriftTransform& t, int label, uint64_t seed) {
  if (t.identity() || t.kind != DriftKind::kLabelSwap || t.labels.size() != 2) return label;
  if (label != t.labels[0] && label != t.labels[1]) return label;
  return UnitDraw(seed) < t.magnitude ? SwapLabel(label, t.labels[0], t.labels[1]) : label;
}

int64_t DrawExample(const DriftTransform& t, absl::Span<const int64_t> pool, absl::Span<const uint8_t> labels,
                    SeededRandom& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (!t.identity() && t.kind == DriftKind::kLabelShift && unit(rng) < t.magnitude) {
    // Rejection sampling keeps this allocation-free; a pool without the
    // favoured classes falls back to its usual distribution.
    for (int attempt = 0; attempt < 64; ++attempt) {
      const int64_t i = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
      if (std::find(t.labels.begin(), t.labels.end(), labels[i]) != t.labels.end()) return i;
    }
  }
  return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
}

ImageDataset TransformDataset(const DriftTransform& t, const ImageDataset& data, int64_t n, uint64_t seed) {
  n = std::min(n, data.num_examples);
  const int64_t dim = data.rows * data.cols;
  ImageDataset out;
  out.num_examples = n;
  out.rows = data.rows;
  out.cols = data.cols;
  out.images.resize(static_cast<size_t>(n * dim));
  out.labels.resize(static_cast<size_t>(n));
  std::vector<int64_t> all(static_cast<size_t>(data.num_examples));
  for (int64_t i = 0; i < data.num_examples; ++i) all[i] = i;
  SeededRandom rng(seed);
  for (int64_t k = 0; k < n; ++k) {
    // Without label shift the set is simply the first n examples.
    const int64_t i = t.kind == DriftKind::kLabelShift ? DrawExample(t, all, data.labels, rng) : k;
    const uint64_t example_seed = DeriveSeed(seed, static_cast<uint64_t>(k) + 1);
    TransformImage(t, absl::MakeConstSpan(data.images).subspan(i * dim, dim), data.rows, data.cols, example_seed,
                   absl::MakeSpan(out.images).subspan(k * dim, dim));
    out.labels[k] = static_cast<uint8_t>(TransformLabel(t, data.labels[i], example_seed));
  }
  return out;
}

}  // namespace fedge
