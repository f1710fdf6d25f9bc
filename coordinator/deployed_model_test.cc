// DeployedModel::Publish accepts exactly what devices load: a regression
// test for issue 22, item 4 (the coordinator used to publish int8 graphs
// every device refuses).
#include "coordinator/deployed_model.h"

#include <string>

#include "core/artifact.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/testing/hostile_models.h"
#include "inference/testing/test_models.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class DeployedModelTest : public ::testing::Test {
 protected:
  std::string Sign(const proto::ArtifactBody& body) { return *SignArtifact(body, key_); }

  proto::ArtifactBody Student(uint64_t version) {
    proto::ArtifactBody body = *testing::BuildCalibrated(testing::StudentCnn(5), 16, 6);
    body.mutable_header()->set_model_id("fleet");
    body.mutable_header()->set_version(version);
    return body;
  }

  SigningKey key_ = testing::GenerateTestKey();
  DeployedModel deployed_{key_.verify_key(), "fleet"};
};

TEST_F(DeployedModelTest, PublishesAModelDevicesLoad) {
  ASSERT_TRUE(deployed_.Publish(Sign(Student(3))).ok());
  EXPECT_EQ(deployed_.version(), 3u);
  EXPECT_EQ(deployed_.Publish(Sign(Student(3))).code(), absl::StatusCode::kFailedPrecondition) << "not newer";
}

TEST_F(DeployedModelTest, RefusesGraphsOverTheDeviceLimits) {
  for (const proto::ArtifactBody& body : {testing::ScratchBombBody("fleet", 1), testing::ComputeBombBody("fleet", 1)}) {
    const absl::Status status = deployed_.Publish(Sign(body));
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("devices would refuse deployed model version 1"));
    EXPECT_THAT(std::string(status.message()), HasSubstr("LoadLimits."));
  }
  EXPECT_EQ(deployed_.version(), 0u);
  EXPECT_TRUE(deployed_.artifact().empty());

  // A fleet configured for bigger models gets them.
  DeployedModel generous(key_.verify_key(), "fleet",
                         LoadLimits{.max_memory_bytes = int64_t{1} << 40, .max_macs_per_example = int64_t{1} << 50});
  EXPECT_TRUE(generous.Publish(Sign(testing::ComputeBombBody("fleet", 1))).ok());
}

TEST_F(DeployedModelTest, RefusesInvalidGraphsAndAbsurdScales) {
  const absl::Status nan_model = deployed_.Publish(Sign(testing::WithOutputScale(Student(2), 3e38f)));
  EXPECT_EQ(nan_model.code(), absl::StatusCode::kInvalidArgument) << nan_model;
  EXPECT_THAT(std::string(nan_model.message()), HasSubstr("scale"));

  proto::ArtifactBody empty_graph = Student(2);
  empty_graph.mutable_int8_graph()->clear_ops();
  EXPECT_EQ(deployed_.Publish(Sign(empty_graph)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(deployed_.version(), 0u);

  ASSERT_TRUE(deployed_.Publish(Sign(Student(2))).ok());
  EXPECT_EQ(deployed_.Publish(Sign(testing::ScratchBombBody("fleet", 5))).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(deployed_.version(), 2u) << "a refused model leaves the served one in place";
}

}  // namespace
}  // namespace fedge
