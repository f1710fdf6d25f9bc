#include "models/torch_evaluator.h"

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "models/dataset.h"
#include "models/testing/synthetic_data.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

TEST(TorchEvaluatorTest, MatchesDirectEvaluationOfTheSameParameters) {
  const TensorDataset data = ToTensors(testing::BrightnessDataset(40));
  auto model = CreateModel("cnn_student", 5);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(Train(*model, data, TrainOptions{.epochs = 1, .batch_size = 8}).ok());
  const ModelParams params = ToParams(**model);
  const auto direct = Evaluate(*model, data);
  ASSERT_TRUE(direct.ok());

  auto evaluator = TorchEvaluator::Create("cnn_student", data, /*batch_size=*/16, /*torch_threads=*/1);
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();
  auto metrics = (*evaluator)->Evaluate(params);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_DOUBLE_EQ(metrics->at("test_accuracy"), direct->accuracy);
  EXPECT_NEAR(metrics->at("test_loss"), direct->loss, 1e-5);
  EXPECT_EQ((*evaluator)->num_examples(), 40);
}

// Replicas score batch ranges in parallel and add them up in batch order:
// the same bits as one model, for any replica count (more than the batches too).
TEST(TorchEvaluatorTest, ReplicasGiveOneModelsResultBitForBit) {
  const TensorDataset data = ToTensors(testing::BrightnessDataset(70));
  auto model = CreateModel("cnn_student", 9);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(Train(*model, data, TrainOptions{.epochs = 1, .batch_size = 8}).ok());
  const ModelParams params = ToParams(**model);
  std::map<std::string, double> one;
  for (int replicas : {1, 2, 3, 7}) {
    auto evaluator = TorchEvaluator::Create("cnn_student", data, /*batch_size=*/16, /*torch_threads=*/1, replicas);
    ASSERT_TRUE(evaluator.ok()) << evaluator.status();
    auto metrics = (*evaluator)->Evaluate(params);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    if (replicas == 1) one = *metrics;
    EXPECT_EQ(*metrics, one) << replicas << " replicas";
  }
  EXPECT_FALSE(TorchEvaluator::Create("cnn_student", data, 16, 1, /*replicas=*/0).ok());
}

TEST(TorchEvaluatorTest, AcceptsAnImageDatasetAndScoresBetterModelsHigher) {
  const ImageDataset images = testing::BrightnessDataset(32);
  auto evaluator = TorchEvaluator::Create("cnn_student", images);
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();
  auto model = CreateModel("cnn_student", 2);
  auto before = (*evaluator)->Evaluate(ToParams(**model));
  ASSERT_TRUE(Train(*model, ToTensors(images), TrainOptions{.epochs = 3, .batch_size = 8}).ok());
  auto after = (*evaluator)->Evaluate(ToParams(**model));
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(after->at("test_loss"), before->at("test_loss"));
  EXPECT_EQ(after->at("test_accuracy"), 1.0);
}

// The image-set evaluator keeps uint8 pixels and normalises each batch: the
// same figures as evaluating the float tensors ToTensors makes.
TEST(TorchEvaluatorTest, RawPixelsScoreLikeNormalisedFloats) {
  const ImageDataset images = testing::BrightnessDataset(40);
  auto model = CreateModel("cnn_student", 3);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(Train(*model, ToTensors(images), TrainOptions{.epochs = 1, .batch_size = 8}).ok());
  const auto direct = Evaluate(*model, ToTensors(images), /*batch_size=*/7);
  const auto raw = Evaluate(*model, ToRawTensors(images), /*batch_size=*/7);
  ASSERT_TRUE(direct.ok() && raw.ok());
  EXPECT_DOUBLE_EQ(raw->accuracy, direct->accuracy);
  EXPECT_NEAR(raw->loss, direct->loss, 1e-6);
  EXPECT_EQ(ToRawTensors(images).images.scalar_type(), torch::kUInt8);
}

TEST(TorchEvaluatorTest, RefusesParametersOfAnotherArchitecture) {
  auto evaluator = TorchEvaluator::Create("cnn_student", testing::BrightnessDataset(4));
  ASSERT_TRUE(evaluator.ok());
  auto metrics = (*evaluator)->Evaluate(ToParams(**CreateModel("cnn_small", 1)));
  EXPECT_EQ(metrics.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TorchEvaluatorTest, RejectsBadConstruction) {
  const ImageDataset images = testing::BrightnessDataset(4);
  EXPECT_EQ(TorchEvaluator::Create("resnet", images).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TorchEvaluator::Create("cnn_student", testing::BrightnessDataset(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TorchEvaluator::Create("cnn_student", images, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
