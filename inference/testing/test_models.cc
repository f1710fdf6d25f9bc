#include "inference/testing/test_models.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/random.h"
#include "core/status.h"

namespace fedge::testing {
namespace {

// He-normal weights for fan_in inputs, small random biases.
void AddConv(Int8ModelBuilder& b, int in_c, int out_c, int k, int stride, int pad, bool relu, SeededRandom& rng) {
  const size_t fan_in = static_cast<size_t>(in_c) * k * k;
  b.Conv2d(out_c, k, stride, pad, RandomNormal(fan_in * out_c, std::sqrt(2.0f / fan_in), rng()),
           RandomNormal(out_c, 0.1f, rng()), relu);
}

void AddLinear(Int8ModelBuilder& b, int in, int out, bool relu, SeededRandom& rng) {
  b.Linear(out, RandomNormal(static_cast<size_t>(in) * out, std::sqrt(2.0f / in), rng()),
           RandomNormal(out, 0.1f, rng()), relu);
}

int Uniform(SeededRandom& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// Adds a pooling layer if the spatial size allows one.
void MaybePool(Int8ModelBuilder& b, SeededRandom& rng) {
  const ActShape& s = b.float_model().output();
  const int k = Uniform(rng, 2, 3);
  if (s.h < k || s.w < k) return;
  const int stride = Uniform(rng, 1, 2);
  const int pad = Uniform(rng, 0, k / 2);
  if (Uniform(rng, 0, 1) == 0) {
    b.MaxPool2d(k, stride, pad);
  } else {
    b.AvgPool2d(k, stride, pad);
  }
}

void RandomConv(Int8ModelBuilder& b, SeededRandom& rng) {
  const ActShape& s = b.float_model().output();
  const int k = std::min(Uniform(rng, 1, 5), std::min(s.h, s.w));
  const int pad = Uniform(rng, 0, k - 1);
  const int out_c = Uniform(rng, 1, 11);
  const bool separate_relu = Uniform(rng, 0, 2) == 0;
  AddConv(b, s.c, out_c, k, Uniform(rng, 1, 2), pad, !separate_relu && Uniform(rng, 0, 1) == 1, rng);
  if (separate_relu) b.Relu();
}

}  // namespace

std::vector<float> RandomNormal(size_t n, float stddev, uint64_t seed) {
  SeededRandom rng(seed);
  std::normal_distribution<float> dist(0.0f, stddev);
  std::vector<float> out(n);
  for (float& v : out) v = dist(rng);
  return out;
}

Int8ModelBuilder StudentCnn(uint64_t seed, bool separate_relu) {
  SeededRandom rng(seed);
  Int8ModelBuilder b(1, 28, 28);
  AddConv(b, 1, 8, 5, 1, 0, !separate_relu, rng);
  if (separate_relu) b.Relu();
  b.MaxPool2d(2, 2);
  AddConv(b, 8, 16, 5, 1, 0, !separate_relu, rng);
  if (separate_relu) b.Relu();
  b.MaxPool2d(2, 2).Flatten();
  AddLinear(b, 256, 10, false, rng);
  return b;
}

Int8ModelBuilder RandomNetwork(uint64_t seed) {
  SeededRandom rng(seed);
  Int8ModelBuilder b(Uniform(rng, 1, 3), Uniform(rng, 5, 14), Uniform(rng, 5, 14));
  RandomConv(b, rng);
  MaybePool(b, rng);
  if (Uniform(rng, 0, 1) == 1) RandomConv(b, rng);
  b.Flatten();
  const int in = b.float_model().output().c;
  const int hidden = Uniform(rng, 3, 20);
  AddLinear(b, in, hidden, Uniform(rng, 0, 1) == 1, rng);
  AddLinear(b, hidden, Uniform(rng, 2, 10), false, rng);
  return b;
}

absl::StatusOr<proto::ArtifactBody> BuildCalibrated(const Int8ModelBuilder& builder, int num_samples,
                                                    uint64_t seed) {
  const std::vector<float> samples =
      RandomNormal(static_cast<size_t>(builder.float_model().input.size()) * num_samples, 1.0f, seed);
  FEDGE_ASSIGN_OR_RETURN(Int8Calibration cal, builder.Calibrate(samples));
  proto::ArtifactHeader header;
  header.set_model_id("test");
  header.set_version(1);
  header.set_architecture("test_cnn");
  return builder.Build(cal, header);
}

SigningKey GenerateTestKey() { return SigningKey::Generate().value(); }

}  // namespace fedge::testing
