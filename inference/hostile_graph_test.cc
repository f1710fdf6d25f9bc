// Regression tests for the loader findings of issue 22 (item 4): signed,
// well-formed graphs that used to make Load allocate tens of gigabytes,
// Classify run for hours, or Classify return NaN with an OK status.
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/artifact.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/engine.h"
#include "inference/load_limits.h"
#include "inference/testing/hostile_models.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class HostileGraphTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<InferenceEngine>> Load(const proto::ArtifactBody& body,
                                                        const EngineOptions& options = {}) {
    return InferenceEngine::Load(*SignArtifact(body, key_), key_.verify_key(), options);
  }

  SigningKey key_ = testing::GenerateTestKey();
};

TEST_F(HostileGraphTest, ScratchBombIsRefusedBeforeAllocating) {
  const proto::ArtifactBody body = testing::ScratchBombBody();
  ASSERT_LT(body.ByteSizeLong(), 5000u) << "a few kilobytes of graph";
  const absl::Status optimized = Load(body).status();
  EXPECT_EQ(optimized.code(), absl::StatusCode::kResourceExhausted) << optimized;
  EXPECT_THAT(std::string(optimized.message()), HasSubstr("LoadLimits.max_memory_bytes"));

  // The reference kernels need no scratch; the work per example still gives it away.
  EngineOptions reference;
  reference.kernels = KernelSet::kReference;
  const absl::Status slow = Load(body, reference).status();
  EXPECT_EQ(slow.code(), absl::StatusCode::kResourceExhausted) << slow;
  EXPECT_THAT(std::string(slow.message()), HasSubstr("LoadLimits.max_macs_per_example"));
}

TEST_F(HostileGraphTest, ComputeBombIsRefusedAndTheLimitIsConfigurable) {
  const proto::ArtifactBody body = testing::ComputeBombBody();
  ASSERT_LT(body.int8_graph().ByteSizeLong(), 100u);
  const absl::Status status = Load(body).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("LoadLimits.max_macs_per_example = 100000000"));

  // Raised on purpose, the same graph loads (and is not run here).
  EngineOptions options;
  options.limits.max_macs_per_example = std::numeric_limits<int64_t>::max();
  auto engine = Load(body, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_GT((*engine)->cost().macs_per_example, int64_t{2049} * 2049 * 2048 * 2048);

  options = {};
  options.limits.max_memory_bytes = 1 << 20;  // below the two 16 MiB activation buffers
  const absl::Status small_device = Load(body, options).status();
  EXPECT_EQ(small_device.code(), absl::StatusCode::kResourceExhausted) << small_device;
  EXPECT_THAT(std::string(small_device.message()), HasSubstr("max_memory_bytes = 1048576"));
}

TEST_F(HostileGraphTest, StudentModelFitsTheDefaultsWithWideMargin) {
  auto student = testing::BuildCalibrated(testing::StudentCnn(3), 16, 4);
  ASSERT_TRUE(student.ok()) << student.status();
  for (KernelSet kernels : {KernelSet::kOptimized, KernelSet::kReference}) {
    EngineOptions options;
    options.kernels = kernels;
    auto engine = Load(*student, options);
    ASSERT_TRUE(engine.ok()) << engine.status();
    // 784 input values, conv1 8*24*24*25, pool 8*12*12*4, conv2 16*8*8*200,
    // pool 16*4*4*4, linear 10*256.
    EXPECT_EQ((*engine)->cost().macs_per_example, 784 + 115200 + 4608 + 204800 + 1024 + 2560);
    const LoadLimits defaults;
    EXPECT_LT((*engine)->cost().macs_per_example * 300, defaults.max_macs_per_example);
    EXPECT_LT((*engine)->cost().memory_bytes * 1000, defaults.max_memory_bytes);
    EXPECT_GE((*engine)->cost().memory_bytes, static_cast<int64_t>((*engine)->arena_bytes()));
  }
}

TEST_F(HostileGraphTest, AbsurdOutputScaleIsRefusedInsteadOfReturningNaN) {
  auto student = testing::BuildCalibrated(testing::StudentCnn(3), 16, 4);
  ASSERT_TRUE(student.ok()) << student.status();
  for (float scale : {3e38f, 1e31f}) {
    const absl::Status status = Load(testing::WithOutputScale(*student, scale)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << scale;
    EXPECT_THAT(std::string(status.message()), HasSubstr("is outside [1e-30, 1e+30]")) << status;
  }
  proto::ArtifactBody tiny_input = *student;
  tiny_input.mutable_int8_graph()->mutable_input()->set_scale(1e-38f);
  EXPECT_EQ(Load(tiny_input).status().code(), absl::StatusCode::kInvalidArgument);

  // At the bound, every probability is finite and they sum to 1.
  auto engine = Load(testing::WithOutputScale(*student, 1e30f));
  ASSERT_TRUE(engine.ok()) << engine.status();
  const std::vector<float> input = testing::RandomNormal(28 * 28, 1.0f, 7);
  std::vector<float> probabilities(10);
  int label = -1;
  ASSERT_TRUE((*engine)->Classify(input, absl::MakeSpan(probabilities), &label).ok());
  float total = 0;
  for (float p : probabilities) {
    EXPECT_TRUE(std::isfinite(p));
    total += p;
  }
  EXPECT_NEAR(total, 1.0f, 1e-5f);
}

TEST(GraphCostTest, OverflowingCountsAreInvalidNotWrapped) {
  Int8Plan plan;
  plan.input = ActShape{1, 1, 1, false};
  plan.max_activation = 1;
  PlannedOp pool;
  pool.kind = OpKind::kMaxPool2d;
  pool.out = ActShape{1 << 30, 1 << 30, 1, false};  // 2^60 outputs ...
  pool.kernel_h = pool.kernel_w = 1 << 20;           // ... of a 2^40-cell window
  plan.ops.push_back(pool);
  const absl::Status status = ComputeGraphCost(plan, /*optimized=*/false).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("does not fit in 64 bits"));

  plan.max_activation = std::numeric_limits<int64_t>::max() / 2 + 1;
  plan.ops.clear();
  EXPECT_EQ(ComputeGraphCost(plan, false).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckGraphCost(GraphCost{}, LoadLimits{.max_memory_bytes = 0, .max_macs_per_example = 1}).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
