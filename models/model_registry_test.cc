#include "models/model_registry.h"

#include <torch/torch.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch_params.h"
#include "models/torchscript_import.h"
#include "models/zoo.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

// tests/models/make_torchscript_models.py; tests run from the repository root.
constexpr char kScriptedCnnSmall[] = "torchscript:tests/models/cnn_small.pt";
// DeriveSeed(3, SeedStream::kModel) (core/random.h, settings/): the initial
// weights of cnn_small in a federation with seed 3, which the script used.
uint64_t FederationModelSeed() {
  uint64_t z = 3 + 0x9e3779b97f4a7c15ull * (0x6d6f64656cULL + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

TEST(TorchScriptTest, ScriptedCnnSmallIsTheZooModelWithTheFilesWeights) {
  auto scripted = CreateModel(kScriptedCnnSmall, /*seed=*/0);
  ASSERT_TRUE(scripted.ok()) << scripted.status();
  auto zoo = CreateModel("cnn_small", FederationModelSeed());
  ASSERT_TRUE(zoo.ok());
  // Same layout code, same layout: a TorchScript model federates with the zoo's.
  EXPECT_EQ(LayoutOf(**scripted), LayoutOf(**zoo));
  // PyTorch and LibTorch initialise alike from the same seed.
  EXPECT_EQ(ToParams(**scripted).values, ToParams(**zoo).values);
  EXPECT_EQ(*ExampleShape(kScriptedCnnSmall), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(*InputFeatures(kScriptedCnnSmall), 784);
  const torch::Tensor x = torch::randn({4, 1, 28, 28});
  EXPECT_TRUE(torch::equal((*scripted)->forward(x), (*zoo)->forward(x)));
}

TEST(TorchScriptTest, EveryCallGetsItsOwnModule) {
  auto a = CreateModel(kScriptedCnnSmall, 0);
  auto b = CreateModel(kScriptedCnnSmall, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  {
    torch::NoGradGuard no_grad;
    (*a)->parameters()[0].fill_(1.0f);
  }
  EXPECT_NE(ToParams(**a).values, ToParams(**b).values);
}

TEST(TorchScriptTest, RefusesWhatItCannotTrain) {
  EXPECT_EQ(CreateModel("torchscript:tests/models/absent.pt", 0).status().code(), absl::StatusCode::kNotFound);
  const std::string junk = ::testing::TempDir() + "/junk.pt";
  std::ofstream(junk) << "not a zip archive";
  const absl::Status bad = CreateModel(std::string("torchscript:") + junk, 0).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr(junk));
  // The federation's shape must be the file's.
  EXPECT_THAT(CreateModel(kScriptedCnnSmall, 0, {.input_features = 0, .num_classes = 3}).status().message(),
              HasSubstr("set [model] input_features and num_classes"));
}

TEST(TorchScriptTest, LayoutMismatchNamesTheFirstDifferentTensor) {
  auto scripted = CreateModel(kScriptedCnnSmall, 0);
  auto lenet = CreateModel("cnn_lenet", 0);
  ASSERT_TRUE(scripted.ok() && lenet.ok());
  const absl::Status s = LoadParams(ToParams(**lenet), **scripted);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tensor #0 is '0.weight' [6, 1, 5, 5] in the parameters but '0.weight' "
                                     "[16, 1, 5, 5] in the model"));
}

// An application's own model, built by name like the zoo's.
TEST(ModelRegistryTest, RegisteredFactoryBuildsByName) {
  ModelFactory f;
  f.info = {"test_tiny_cnn", "conv 1->2 k3, linear 1352->10"};
  f.example_shape = [](const ModelShape&) -> absl::StatusOr<std::vector<int64_t>> {
    return std::vector<int64_t>{1, 28, 28};
  };
  f.build = [](const ModelShape&) -> absl::StatusOr<torch::nn::Sequential> {
    return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3)), torch::nn::ReLU(),
                                 torch::nn::Flatten(), torch::nn::Linear(2 * 26 * 26, 10));
  };
  ASSERT_TRUE(RegisterModel(f).ok());
  EXPECT_EQ(RegisterModel(f).code(), absl::StatusCode::kAlreadyExists);
  ModelFactory zoo_name = f;
  zoo_name.info.name = "cnn_small";
  EXPECT_EQ(RegisterModel(zoo_name).code(), absl::StatusCode::kAlreadyExists);
  ModelFactory script_name = f;
  script_name.info.name = "torchscript:x.pt";
  EXPECT_EQ(RegisterModel(script_name).code(), absl::StatusCode::kInvalidArgument);

  auto a = CreateModel("test_tiny_cnn", 5);
  auto b = CreateModel("test_tiny_cnn", 5);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(ToParams(**a).values, ToParams(**b).values);  // seeded like the zoo
  EXPECT_EQ(*InputFeatures("test_tiny_cnn"), 784);
  bool listed = false;
  for (const ModelInfo& m : ModelZoo()) listed |= m.name == "test_tiny_cnn";
  EXPECT_TRUE(listed);
  EXPECT_THAT(CreateModel("resnet", 0).status().message(), HasSubstr("test_tiny_cnn"));
}

}  // namespace
}  // namespace fedge
