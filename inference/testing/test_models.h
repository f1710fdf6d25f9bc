// File: inference/testing/test_models.h
//
// Models for inference tests and benchmarks, built without LibTorch:
// random float networks (seeded) wrapped in Int8ModelBuilder, calibration
// data, and signing helpers. Test-only (fedge::inference_testing).
//
// Thread-safety: pure functions.
#ifndef FEDGE_INFERENCE_TESTING_TEST_MODELS_H_
#define FEDGE_INFERENCE_TESTING_TEST_MODELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/signing.h"
#include "inference/model_builder.h"
#include "proto/fedge.pb.h"

namespace fedge::testing {

// n values drawn from N(0, stddev^2) with a fixed seed.
std::vector<float> RandomNormal(size_t n, float stddev, uint64_t seed);

// The student CNN used in benchmarks: [1, 28, 28] -> conv 1->8 k5 + relu ->
// maxpool2 -> conv 8->16 k5 + relu -> maxpool2 -> flatten -> linear 256->10,
// He-initialised from `seed`. `separate_relu` adds RELU ops instead of fusing.
Int8ModelBuilder StudentCnn(uint64_t seed, bool separate_relu = false);

// A random small network exercising every op kind with random shapes,
// strides and paddings (different for every seed).
Int8ModelBuilder RandomNetwork(uint64_t seed);

// Calibrates `builder` on `num_samples` random inputs and builds the body.
absl::StatusOr<proto::ArtifactBody> BuildCalibrated(const Int8ModelBuilder& builder, int num_samples,
                                                    uint64_t seed);

// A freshly generated Ed25519 key; aborts if OpenSSL cannot make one.
SigningKey GenerateTestKey();

}  // namespace fedge::testing

#endif  // FEDGE_INFERENCE_TESTING_TEST_MODELS_H_
