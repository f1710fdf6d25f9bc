// Conformance of the optimised kernels with the reference kernels: every
// CONV2D / LINEAR op of many random graphs, with weights, biases, zero points
// and multipliers randomised over their full legal ranges, must give the same
// bytes with every kernel variant this CPU supports (portable, AVX2 on
// x86-64, NEON and NEON dot product on aarch64); so must max pooling, input
// quantisation and whole graphs run through InferenceEngine.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/artifact.h"
#include "gtest/gtest.h"
#include "inference/engine.h"
#include "inference/optimized_kernels.h"
#include "inference/reference_kernels.h"
#include "inference/testing/test_models.h"

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
  // Mostly realistic multipliers; some ops span the whole legal range, from
  // ones that round to 0 to left shifts of 15 that saturate.
  const bool extreme = rng() % 4 == 0;
  std::uniform_real_distribution<double> log_real(extreme ? -34.0 : -18.0, extreme ? 14.99 : 1.0);
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
      if (op.kind == OpKind::kConv2d) {
        ReferenceConv2d(op, in.data(), expected.data());
      } else {
        ReferenceLinear(op, in.data(), expected.data());
      }
      for (KernelIsa isa : SupportedKernelIsas()) {
        std::vector<int8_t> actual(expected.size(), 0x55);
        std::vector<int16_t> scratch(OptimizedScratchSize(op), 0x5555);
        if (op.kind == OpKind::kConv2d) {
          OptimizedConv2d(op, isa, in.data(), actual.data(), scratch.data());
        } else {
          OptimizedLinear(op, isa, in.data(), actual.data(), scratch.data());
        }
        ASSERT_EQ(expected, actual) << "isa " << KernelIsaName(isa) << " seed " << seed << " op kind "
                                    << static_cast<int>(op.kind) << " in [" << op.in.c << "," << op.in.h << ","
                                    << op.in.w << "] out_c " << op.out.c << " k " << op.kernel_h << " stride "
                                    << op.stride_h << " pad " << op.pad_h;
        ++checked_ops;
      }
    }
  }
  EXPECT_GT(checked_ops, 400 * static_cast<int>(SupportedKernelIsas().size()));
}

TEST(KernelConformanceTest, MaxPoolVariantsAgreeWithReference) {
  std::mt19937_64 rng(13);
  int checked = 0;
  for (int c = 1; c <= 3; ++c) {
    for (int h = 2; h <= 9; ++h) {
      for (int w = 2; w <= 40; w += 3) {
        for (int k = 2; k <= 3; ++k) {
          for (int stride = 1; stride <= 2; ++stride) {
            PlannedOp op;
            op.kind = OpKind::kMaxPool2d;
            op.kernel_h = op.kernel_w = k;
            op.stride_h = op.stride_w = stride;
            op.in = ActShape{c, h, w};
            op.out = ActShape{c, (h - k) / stride + 1, (w - k) / stride + 1};
            if (op.out.h < 1 || op.out.w < 1) continue;
            const std::vector<int8_t> in = RandomInt8(static_cast<size_t>(op.in.size()), rng);
            std::vector<int8_t> expected(static_cast<size_t>(op.out.size()));
            MaxPool2d(op, in.data(), expected.data());
            for (KernelIsa isa : SupportedKernelIsas()) {
              std::vector<int8_t> actual(expected.size(), 0x55);
              OptimizedMaxPool2d(op, isa, in.data(), actual.data());
              ASSERT_EQ(expected, actual) << "isa " << KernelIsaName(isa) << " [" << c << "," << h << "," << w
                                          << "] k " << k << " stride " << stride;
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 500);
}

TEST(KernelConformanceTest, InputQuantisationIsBitIdentical) {
  std::mt19937_64 rng(17);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int trial = 0; trial < 50; ++trial) {
    const ActivationQuant q{std::exp2(static_cast<float>(trial % 9) - 6.0f) * (1.0f + 0.1f * (trial % 3)),
                            static_cast<int32_t>(rng() % 256) - 128};
    std::vector<float> in(static_cast<size_t>(1 + rng() % 100));
    for (size_t i = 0; i < in.size(); ++i) {
      // Exact ties (k + 0.5 steps) and far out-of-range values included.
      switch (i % 4) {
        case 0: in[i] = (static_cast<float>(static_cast<int>(rng() % 301) - 150) + 0.5f) * q.scale; break;
        case 1: in[i] = normal(rng) * 1e4f; break;
        default: in[i] = normal(rng); break;
      }
    }
    std::vector<int8_t> expected(in.size());
    for (size_t i = 0; i < in.size(); ++i) expected[i] = QuantizeValue(in[i], q);
    for (KernelIsa isa : SupportedKernelIsas()) {
      std::vector<int8_t> actual(in.size(), 0x55);
      OptimizedQuantizeInput(isa, in.data(), in.size(), q, actual.data());
      ASSERT_EQ(expected, actual) << "isa " << KernelIsaName(isa) << " trial " << trial;
    }
  }
}

TEST(KernelConformanceTest, IsaOverrideSelectsVariant) {
  for (KernelIsa isa : SupportedKernelIsas()) {
    ScopedKernelIsaOverride force(isa);
    EXPECT_EQ(DetectKernelIsa(), isa);
  }
  EXPECT_EQ(SupportedKernelIsas().front(), KernelIsa::kPortable);
}

// The tests above compare whatever variants this CPU has, so they would pass
// vacuously if one were never detected. scripts/cross-aarch64 runs them on
// emulated CPUs whose variants are known and says which it expects.
TEST(KernelConformanceTest, ExpectedVariantsAreSupported) {
  const char* expected = std::getenv("FEDGE_EXPECT_KERNEL_ISAS");
  if (expected == nullptr) GTEST_SKIP() << "FEDGE_EXPECT_KERNEL_ISAS not set";
  std::vector<std::string> names;
  for (KernelIsa isa : SupportedKernelIsas()) names.push_back(KernelIsaName(isa));
  EXPECT_EQ(absl::StrJoin(names, ","), expected);
}

TEST(KernelConformanceTest, WholeGraphsAgreeBetweenKernelSets) {
  const SigningKey key = testing::GenerateTestKey();
  std::mt19937_64 rng(11);
  for (uint64_t seed = 0; seed < 60; ++seed) {
    const std::string bytes =
        *SignArtifact(*testing::BuildCalibrated(testing::RandomNetwork(seed), 8, seed + 100), key);
    auto reference = InferenceEngine::Load(bytes, key.verify_key(), EngineOptions{KernelSet::kReference, {}});
    ASSERT_TRUE(reference.ok()) << reference.status();
    std::vector<std::unique_ptr<InferenceEngine>> optimized;
    for (KernelIsa isa : SupportedKernelIsas()) {
      ScopedKernelIsaOverride force(isa);
      auto engine = InferenceEngine::Load(bytes, key.verify_key(), EngineOptions{KernelSet::kOptimized, {}});
      ASSERT_TRUE(engine.ok()) << engine.status();
      optimized.push_back(*std::move(engine));
    }
    std::vector<int8_t> a((*reference)->num_classes());
    std::vector<int8_t> b(a.size());
    for (int trial = 0; trial < 5; ++trial) {
      const std::vector<int8_t> in = RandomInt8(static_cast<size_t>((*reference)->input_size()), rng);
      ASSERT_TRUE((*reference)->RunQuantized(in, absl::MakeSpan(a)).ok());
      for (size_t i = 0; i < optimized.size(); ++i) {
        ASSERT_TRUE(optimized[i]->RunQuantized(in, absl::MakeSpan(b)).ok());
        ASSERT_EQ(a, b) << "seed " << seed << " variant " << i;
      }
    }
  }
}

}  // namespace
}  // namespace fedge
