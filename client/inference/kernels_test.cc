// Conformance of the optimised kernels with the reference kernels: every
// CONV2D / LINEAR op of many random graphs, with weights, biases, zero points
// and multipliers randomised over their full legal ranges, must give the same
// bytes; so must whole graphs run through InferenceEngine.
#include <memory>
#include <random>
#include <vector>

#include "client/inference/engine.h"
#include "client/inference/optimized_kernels.h"
#include "client/inference/reference_kernels.h"
#include "client/inference/testing/test_models.h"
#include "core/artifact.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

std::vector<int8_t> RandomInt8(size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> dist(-128, 127);
  std::vector<int8_t> out(n);
  for (int8_t& v : out) v = static_cast<int8_t>(dist(rng));
  return out;
}

// Replaces quantisation constants by random legal ones, including extremes
// (-128 weights, zero points at both ends) that calibrated models rarely hit.
void Randomise(PlannedOp& op, std::mt19937_64& rng) {
  op.weights = RandomInt8(op.weights.size(), rng);
  std::uniform_int_distribution<int32_t> bias(-(1 << 20), 1 << 20);
  for (int32_t& b : op.bias) b = bias(rng);
  const int32_t zero_points[] = {-128, 127, 0, static_cast<int32_t>(rng() % 256) - 128};
  op.in_q.zero_point = zero_points[rng() % 4];
  op.out_q.zero_point = zero_points[rng() % 4];
  std::uniform_real_distribution<double> log_real(-18.0, 1.0);
  for (QuantizedMultiplier& m : op.multipliers) m = *QuantizeMultiplier(std::exp2(log_real(rng)));
  op.act_min = rng() % 2 ? op.out_q.zero_point : kInt8Min;
}

TEST(KernelConformanceTest, OptimisedOpsAreBitExactOnRandomGraphs) {
  std::mt19937_64 rng(7);
  int checked_ops = 0;
  for (uint64_t seed = 0; seed < 150; ++seed) {
    absl::StatusOr<proto::ArtifactBody> body = testing::BuildCalibrated(testing::RandomNetwork(seed), 4, seed);
    ASSERT_TRUE(body.ok()) << body.status();
    absl::StatusOr<Int8Plan> plan = PlanInt8Graph(*body);
    ASSERT_TRUE(plan.ok()) << plan.status();
    for (PlannedOp& op : plan->ops) {
      if (op.kind != OpKind::kConv2d && op.kind != OpKind::kLinear) continue;
      Randomise(op, rng);
      PackWeights(op);
      const std::vector<int8_t> in = RandomInt8(static_cast<size_t>(op.in.size()), rng);
      std::vector<int8_t> expected(static_cast<size_t>(op.out.size()));
      std::vector<int8_t> actual(expected.size(), 0x55);
      std::vector<int16_t> scratch(OptimizedScratchSize(op));
      if (op.kind == OpKind::kConv2d) {
        ReferenceConv2d(op, in.data(), expected.data());
        OptimizedConv2d(op, in.data(), actual.data(), scratch.data());
      } else {
        ReferenceLinear(op, in.data(), expected.data());
        OptimizedLinear(op, in.data(), actual.data(), scratch.data());
      }
      ASSERT_EQ(expected, actual) << "seed " << seed << " op kind " << static_cast<int>(op.kind) << " in ["
                                  << op.in.c << "," << op.in.h << "," << op.in.w << "] k " << op.kernel_h
                                  << " stride " << op.stride_h << " pad " << op.pad_h;
      ++checked_ops;
    }
  }
  EXPECT_GT(checked_ops, 400);
}

TEST(KernelConformanceTest, WholeGraphsAgreeBetweenKernelSets) {
  const SigningKey key = testing::GenerateTestKey();
  std::mt19937_64 rng(11);
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const std::string bytes =
        *SignArtifact(*testing::BuildCalibrated(testing::RandomNetwork(seed), 8, seed + 100), key);
    auto reference = InferenceEngine::Load(bytes, key.verify_key(), {KernelSet::kReference});
    auto optimized = InferenceEngine::Load(bytes, key.verify_key(), {KernelSet::kOptimized});
    ASSERT_TRUE(reference.ok()) << reference.status();
    ASSERT_TRUE(optimized.ok()) << optimized.status();
    std::vector<int8_t> a((*reference)->num_classes());
    std::vector<int8_t> b(a.size());
    for (int trial = 0; trial < 5; ++trial) {
      const std::vector<int8_t> in = RandomInt8(static_cast<size_t>((*reference)->input_size()), rng);
      ASSERT_TRUE((*reference)->RunQuantized(in, absl::MakeSpan(a)).ok());
      ASSERT_TRUE((*optimized)->RunQuantized(in, absl::MakeSpan(b)).ok());
      ASSERT_EQ(a, b) << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace fedge
