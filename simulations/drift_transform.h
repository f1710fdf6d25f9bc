// File: simulations/drift_transform.h
//
// What a drift does to one example, given the schedule's progress
// (simulations/drift_schedule.h): covariate drift rewrites the 8-bit image
// (rotation, brightness/contrast, Gaussian sensor noise), a label-distribution
// shift changes which examples arrive, and concept drift (label_swap) changes
// the label of an unchanged image. The same functions transform a drifted
// device's stream and the held-out set its accuracy is measured on, so the
// two always agree.
//
// Every function is deterministic in its arguments (noise and swaps take a
// seed), so a device's example at a given round is the same whichever
// thread builds it.
//
// LibTorch-free. Stateless; thread-safe.
#ifndef FEDGE_SIMULATIONS_DRIFT_TRANSFORM_H_
#define FEDGE_SIMULATIONS_DRIFT_TRANSFORM_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/idx.h"
#include "core/random.h"
#include "simulations/drift_schedule.h"

namespace fedge {

// The drift in effect at one point of the schedule.
struct DriftTransform {
  DriftKind kind = DriftKind::kNone;
  double progress = 0;   // in [0, 1]
  double magnitude = 0;  // FullMagnitude × progress (degrees, offset, std or share)
  double contrast = 1;   // brightness: 1 + (contrast − 1) × progress
  std::vector<int> labels;
  // True when the transform changes nothing (no drift yet).
  bool identity() const { return kind == DriftKind::kNone || progress <= 0; }
};

// The transform of `drift` at `progress` (DriftProgress of a round).
DriftTransform TransformAt(const DriftSettings& drift, double progress);

// Rotates a rows × cols image by `degrees` counter-clockwise (as displayed)
// about its centre, with bilinear interpolation; pixels from outside the
// image are 0 (background). REQUIRES: src and dst hold rows × cols values
// and do not overlap.
void RotateImage(absl::Span<const uint8_t> src, int64_t rows, int64_t cols, double degrees, absl::Span<uint8_t> dst);

// x ← clamp(contrast·(x − ½) + ½ + offset) on the [0, 1] pixel scale, rounded.
void AdjustBrightness(absl::Span<uint8_t> image, double offset, double contrast);

// Adds N(0, std²) noise (pixel scale [0, 1]) to every pixel, clamped and
// rounded; the noise is drawn from `seed`.
void AddSensorNoise(absl::Span<uint8_t> image, double std, uint64_t seed);

// a ↔ b; other labels unchanged.
int SwapLabel(int label, int a, int b);

// Applies the covariate part of `t` to one image (a copy of src in dst when
// `t` has none). `seed` drives sensor noise. REQUIRES: sizes rows × cols.
void TransformImage(const DriftTransform& t, absl::Span<const uint8_t> src, int64_t rows, int64_t cols, uint64_t seed,
                    absl::Span<uint8_t> dst);

// The label after concept drift: for label_swap, labels a and b are swapped
// with probability magnitude (a draw from `seed`); otherwise unchanged.
int TransformLabel(const DriftTransform& t, int label, uint64_t seed);

// Draws the index of a new example from `pool` (a device's shard, indices
// into `labels`): under label_shift, with probability t.magnitude from the
// pool's examples whose label is in t.labels (when it has any), else
// uniformly from the pool. REQUIRES: pool non-empty.
int64_t DrawExample(const DriftTransform& t, absl::Span<const int64_t> pool, absl::Span<const uint8_t> labels,
                    SeededRandom& rng);

// `n` examples of `data` (all when n >= its size) drawn and transformed as
// a drifted device's new data would be at `t`: the held-out set for the
// accuracy on the drifted distribution. Deterministic in `seed`.
ImageDataset TransformDataset(const DriftTransform& t, const ImageDataset& data, int64_t n, uint64_t seed);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_DRIFT_TRANSFORM_H_
