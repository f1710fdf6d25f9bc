#include <torch/torch.h>

#include "gtest/gtest.h"
#include "models/dataset.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

TEST(ZooTest, ParameterCountsMatchTheirSpecification) {
  EXPECT_EQ(CountParameters(**CreateModel("cnn_small", 0)), 18378);
  EXPECT_EQ(CountParameters(**CreateModel("cnn_lenet", 0)), 44426);
  EXPECT_EQ(CountParameters(**CreateModel("cnn_student", 0)), 5994);
  EXPECT_EQ(CountParameters(**CreateModel("cnn_small_gn", 0)), 18474);
  EXPECT_EQ(CountParameters(**CreateModel("mlp", 0)), 101770);
}

TEST(ZooTest, EveryImageModelMapsAnImageBatchToTenLogits) {
  for (const ModelInfo& info : ModelZoo()) {
    if (info.name == "mlp_tabular") continue;  // ZooTest.TabularMlp
    EXPECT_EQ(*ExampleShape(info.name), (std::vector<int64_t>{1, 28, 28})) << info.name;
    auto model = CreateModel(info.name, 1);
    ASSERT_TRUE(model.ok()) << info.name;
    EXPECT_EQ((*model)->forward(torch::zeros({3, 1, 28, 28})).sizes(), (std::vector<int64_t>{3, 10})) << info.name;
  }
}

TEST(ZooTest, TabularMlpIsBuiltForTheConfiguredShape) {
  const ModelShape shape{.input_features = 12, .num_classes = 3};
  auto model = CreateModel("mlp_tabular", 1, shape);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->forward(torch::zeros({5, 12})).sizes(), (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(CountParameters(**model), 12 * 64 + 64 + 64 * 32 + 32 + 32 * 3 + 3);
  EXPECT_EQ(*ExampleShape("mlp_tabular", shape), (std::vector<int64_t>{12}));
  EXPECT_EQ(*InputFeatures("mlp_tabular", shape), 12);
  EXPECT_EQ(ToParams(**model).values, ToParams(**CreateModel("mlp_tabular", 1, shape)).values);
  EXPECT_NE(CreateModel("mlp_tabular", 1).status().message().find("model.input_features"), std::string::npos);
  EXPECT_NE(CreateModel("cnn_small", 1, shape).status().message().find("are for mlp_tabular"), std::string::npos);
  EXPECT_TRUE(CreateModel("cnn_small", 1, {.input_features = 784, .num_classes = 10}).ok());
}

TEST(ZooTest, UnknownNameListsKnownModels) {
  auto model = CreateModel("resnet50", 0);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("cnn_small"), std::string::npos);
}

TEST(ZooTest, SameSeedGivesSameWeights) {
  EXPECT_EQ(ToParams(**CreateModel("cnn_small", 7)).values, ToParams(**CreateModel("cnn_small", 7)).values);
  EXPECT_NE(ToParams(**CreateModel("cnn_small", 7)).values, ToParams(**CreateModel("cnn_small", 8)).values);
}

TEST(TorchParamsTest, FlatVectorRoundTripsThroughAModule) {
  auto a = CreateModel("cnn_small", 1);
  auto b = CreateModel("cnn_small", 2);
  ModelParams params = ToParams(**a);
  ASSERT_EQ(params.layout.num_elements(), 18378);
  ASSERT_TRUE(LoadParams(params, **b).ok());
  EXPECT_EQ(ToParams(**b).values, params.values);
  torch::Tensor x = torch::randn({2, 1, 28, 28});
  EXPECT_TRUE(torch::equal((*a)->forward(x), (*b)->forward(x)));
}

TEST(TorchParamsTest, RefusesParametersOfAnotherArchitecture) {
  ModelParams lenet = ToParams(**CreateModel("cnn_lenet", 1));
  auto small = CreateModel("cnn_small", 1);
  absl::Status s = LoadParams(lenet, **small);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainingTest, TrainingReducesLossOnASeparableProblem) {
  // Two classes that differ in mean brightness: any of the CNNs learns it.
  ImageDataset data;
  data.num_examples = 64;
  data.rows = data.cols = 28;
  for (int i = 0; i < 64; ++i) {
    data.images.insert(data.images.end(), 784, i % 2 ? 200 : 20);
    data.labels.push_back(i % 2);
  }
  TensorDataset t = ToTensors(data);
  auto model = CreateModel("cnn_student", 3);
  auto before = Evaluate(*model, t);
  auto stats = Train(*model, t, TrainOptions{.epochs = 3, .batch_size = 8, .learning_rate = 0.05});
  ASSERT_TRUE(stats.ok()) << stats.status();
  auto after = Evaluate(*model, t);
  EXPECT_LT(after->loss, before->loss);
  EXPECT_EQ(after->accuracy, 1.0);
}

TEST(TrainingTest, RejectsBadOptions) {
  auto model = CreateModel("cnn_student", 3);
  TensorDataset empty;
  EXPECT_EQ(Train(*model, empty, TrainOptions{.epochs = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Train(*model, empty, TrainOptions{.optimizer = "lbfgs"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Train(*model, empty, TrainOptions{}).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace fedge
