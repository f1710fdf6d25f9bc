// File: inference/testing/hostile_models.h
//
// Small, well-formed and correctly signed int8 graphs that no device can
// afford or should serve: the regression inputs for the loader's cost
// limits and quantisation checks (issue 22, item 4). Each body is a few
// hundred bytes to a few kilobytes. Test-only (fedge::inference_testing).
//
// Thread-safety: pure functions.
#ifndef FEDGE_INFERENCE_TESTING_HOSTILE_MODELS_H_
#define FEDGE_INFERENCE_TESTING_HOSTILE_MODELS_H_

#include <string>

#include "proto/fedge.pb.h"

namespace fedge::testing {

// Input [1, 4096, 4096] -> CONV2D 1->1 with a 64x64 kernel -> a max pool
// over the whole output -> FLATTEN -> LINEAR 1->2. About 4 KB, but the
// optimised kernels' im2col scratch would be ~133 GB and one example
// 67 G multiply-accumulates.
proto::ArtifactBody ScratchBombBody(const std::string& model_id = "test", uint64_t version = 1);

// Input [1, 4096, 4096] -> MAX_POOL2D 2048x2048 at stride 1 -> a pool over
// the rest -> FLATTEN (1 class). No tensors, under 100 bytes of graph, but
// ~1.8e13 window reads per example: hours for one Classify.
proto::ArtifactBody ComputeBombBody(const std::string& model_id = "test", uint64_t version = 1);

// `body` with the last op's output scale replaced by `scale` (the student
// CNN with 3e38 used to load and return NaN probabilities).
proto::ArtifactBody WithOutputScale(proto::ArtifactBody body, float scale);

}  // namespace fedge::testing

#endif  // FEDGE_INFERENCE_TESTING_HOSTILE_MODELS_H_
