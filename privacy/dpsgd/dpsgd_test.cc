#include <torch/torch.h>

#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/zoo.h"
#include "privacy/client_dp.h"
#include "privacy/dpsgd/dpsgd_trainer.h"
#include "privacy/dpsgd/im2col.h"
#include "privacy/dpsgd/per_example_gradients.h"

namespace fedge {
namespace {

namespace nn = torch::nn;
using ::testing::HasSubstr;

constexpr double kTol = 1e-5;

struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
};

Batch RandomBatch(int64_t b, std::vector<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  shape.insert(shape.begin(), b);
  return {torch::randn(shape), torch::randint(0, 10, {b}, torch::kInt64)};
}

// The reference: per-example gradients from one backward pass per example.
std::vector<std::vector<torch::Tensor>> LoopGradients(nn::Sequential& model, const Batch& batch) {
  std::vector<std::vector<torch::Tensor>> grads;  // [example][parameter]
  for (int64_t n = 0; n < batch.images.size(0); ++n) {
    model->zero_grad();
    torch::Tensor loss = nn::functional::cross_entropy(model->forward(batch.images.slice(0, n, n + 1)),
                                                       batch.labels.slice(0, n, n + 1));
    loss.backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : model->parameters()) g.push_back(p.grad().detach().clone());
    grads.push_back(std::move(g));
  }
  model->zero_grad();
  return grads;
}

double LoopNorm(const std::vector<torch::Tensor>& g) {
  double sq = 0;
  for (const auto& t : g) sq += t.to(torch::kFloat64).square().sum().item<double>();
  return std::sqrt(sq);
}

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

torch::Tensor ClipFactorsOf(const torch::Tensor& norms, double clip) {
  torch::Tensor n = norms.to(torch::kFloat64);
  std::vector<double> c;
  for (int64_t i = 0; i < n.size(0); ++i) c.push_back(ClipFactor(n[i].item<double>(), clip));
  return torch::tensor(c, torch::kFloat64);
}

// A model with a conv (padding, stride, no bias), a GroupNorm and a Linear
// over a sequence dimension, beyond what the zoo exercises.
nn::Sequential ExoticModel() {
  torch::manual_seed(3);
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1).stride(2).bias(false)),
                        nn::GroupNorm(nn::GroupNormOptions(2, 4)), nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(4, 6, 3).dilation(2)),
                        nn::Linear(6, 5), nn::Flatten(), nn::Linear(6 * 6 * 5, 10));
}

nn::Sequential ModelByName(const std::string& name) {
  if (name == "exotic") return ExoticModel();
  return CreateModel(name, 7).value();
}

std::vector<int64_t> InputShape(const std::string& name) {
  return name == "exotic" ? std::vector<int64_t>{1, 20, 20} : std::vector<int64_t>{1, 28, 28};
}

class PerExampleTest : public ::testing::TestWithParam<std::tuple<std::string, NormMethod>> {
 protected:
  void SetUp() override {
    const std::string& name = std::get<0>(GetParam());
    model_ = ModelByName(name);
    batch_ = RandomBatch(6, InputShape(name), 11);
    reference_ = LoopGradients(model_, batch_);
    auto engine = PerExampleGradients::Create(model_, std::get<1>(GetParam()));
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::make_unique<PerExampleGradients>(std::move(*engine));
    ASSERT_TRUE(engine_->Compute(batch_.images, batch_.labels).ok());
  }

  nn::Sequential model_;
  Batch batch_;
  std::vector<std::vector<torch::Tensor>> reference_;
  std::unique_ptr<PerExampleGradients> engine_;
};

TEST_P(PerExampleTest, MaterializedGradientsMatchPerExampleLoop) {
  auto grads = engine_->Materialize();
  ASSERT_TRUE(grads.ok()) << grads.status();
  ASSERT_EQ(grads->size(), model_->parameters().size());
  for (size_t p = 0; p < grads->size(); ++p) {
    for (int64_t n = 0; n < batch_.images.size(0); ++n) {
      EXPECT_LE(MaxAbsDiff((*grads)[p][n], reference_[n][p]), kTol) << "parameter " << p << " example " << n;
    }
  }
}

TEST_P(PerExampleTest, NormsMatchMaterializedNorms) {
  auto norms = engine_->Norms();
  ASSERT_TRUE(norms.ok()) << norms.status();
  for (int64_t n = 0; n < batch_.images.size(0); ++n) {
    const double expected = LoopNorm(reference_[n]);
    EXPECT_NEAR((*norms)[n].item<double>(), expected, kTol * std::max(1.0, expected)) << "example " << n;
  }
}

TEST_P(PerExampleTest, ClippedSumMatchesLoop) {
  auto norms = engine_->Norms();
  ASSERT_TRUE(norms.ok());
  const double clip = 0.5 * norms->median().item<double>();  // clips about half the examples
  torch::Tensor factors = ClipFactorsOf(*norms, clip);
  auto sums = engine_->WeightedSum(factors);
  ASSERT_TRUE(sums.ok()) << sums.status();
  ASSERT_EQ(sums->size(), reference_[0].size());
  for (size_t p = 0; p < sums->size(); ++p) {
    torch::Tensor expected = torch::zeros_like(reference_[0][p], torch::kFloat64);
    for (size_t n = 0; n < reference_.size(); ++n) expected += factors[n].item<double>() * reference_[n][p];
    EXPECT_LE(MaxAbsDiff((*sums)[p], expected), kTol) << "parameter " << p;
  }
}

TEST_P(PerExampleTest, ClippedGradientsHaveNormAtMostC) {
  auto norms = engine_->Norms();
  auto grads = engine_->Materialize();
  ASSERT_TRUE(norms.ok() && grads.ok());
  for (double clip : {1e-3, 0.1, 1.0}) {
    torch::Tensor factors = ClipFactorsOf(*norms, clip);
    for (int64_t n = 0; n < batch_.images.size(0); ++n) {
      double sq = 0;
      for (const auto& g : *grads) sq += (g[n].to(torch::kFloat64) * factors[n]).square().sum().item<double>();
      EXPECT_LE(std::sqrt(sq), clip + 1e-6) << "example " << n << " clip " << clip;
    }
  }
}

std::string ParamName(const ::testing::TestParamInfo<PerExampleTest::ParamType>& info) {
  static const char* kMethods[] = {"auto", "materialize", "gram"};
  return std::get<0>(info.param) + "_" + kMethods[static_cast<int>(std::get<1>(info.param))];
}

INSTANTIATE_TEST_SUITE_P(Models, PerExampleTest,
                         ::testing::Combine(::testing::Values("cnn_small", "cnn_small_gn", "mlp", "exotic"),
                                            ::testing::Values(NormMethod::kAuto, NormMethod::kMaterialize,
                                                              NormMethod::kGram)),
                         ParamName);

TEST(PerExampleGradientsTest, RefusesUnsupportedLayerByIndexAndType) {
  nn::Sequential model(nn::Conv2d(nn::Conv2dOptions(1, 4, 3)), nn::BatchNorm2d(4), nn::ReLU(), nn::Flatten(),
                       nn::Linear(4 * 26 * 26, 10));
  auto engine = PerExampleGradients::Create(model);
  ASSERT_EQ(engine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("layer 1"));
  EXPECT_THAT(std::string(engine.status().message()), HasSubstr("BatchNorm2d"));

  nn::Sequential grouped(nn::Conv2d(nn::Conv2dOptions(2, 4, 3).groups(2)));
  EXPECT_THAT(std::string(PerExampleGradients::Create(grouped).status().message()), HasSubstr("grouped"));
}

TEST(PerExampleGradientsTest, RequiresComputeAndValidatesShapes) {
  auto engine = PerExampleGradients::Create(CreateModel("mlp", 1).value());
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(engine->Norms().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine->Compute(torch::randn({2, 1, 28, 28}), torch::zeros({3}, torch::kInt64)).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine->Compute(torch::randn({2, 1, 28, 28}), torch::zeros({2}, torch::kInt64)).ok());
  EXPECT_EQ(engine->WeightedSum(torch::ones({3})).status().code(), absl::StatusCode::kInvalidArgument);
  // A wrong input size is a LibTorch error, reported, not thrown.
  EXPECT_EQ(engine->Compute(torch::randn({2, 1, 5, 5}), torch::zeros({2}, torch::kInt64)).status().code(),
            absl::StatusCode::kInternal);
}

TEST(Im2ColTest, MatchesTorchUnfold) {
  torch::manual_seed(1);
  torch::Tensor buffer;  // reused across shapes, growing and shrinking
  for (const Conv2dGeometry& g : {Conv2dGeometry{{5, 5}, {1, 1}, {0, 0}, {1, 1}},
                                  Conv2dGeometry{{3, 2}, {2, 1}, {1, 2}, {1, 1}},
                                  Conv2dGeometry{{3, 3}, {1, 3}, {2, 0}, {2, 1}},
                                  Conv2dGeometry{{2, 3}, {3, 2}, {1, 1}, {1, 2}}}) {
    for (const torch::Tensor& x : {torch::randn({3, 2, 9, 11}), torch::randn({1, 1, 7, 7}, torch::kFloat64)}) {
      torch::Tensor expected = nn::functional::unfold(
          x, nn::functional::UnfoldFuncOptions({g.kernel[0], g.kernel[1]})
                 .stride({g.stride[0], g.stride[1]})
                 .padding({g.padding[0], g.padding[1]})
                 .dilation({g.dilation[0], g.dilation[1]}));
      EXPECT_TRUE(torch::equal(Im2Col(x, g, buffer), expected)) << "kernel " << g.kernel[0] << "x" << g.kernel[1];
    }
  }
}

// ---- The DP-SGD step ------------------------------------------------------

TensorDataset RandomData(int64_t n, uint64_t seed) {
  Batch b = RandomBatch(n, {1, 28, 28}, seed);
  return {b.images, b.labels};
}

std::vector<torch::Tensor> Snapshot(nn::Sequential& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone().flatten());
  return out;
}

TEST(DpSgdTrainerTest, WithoutClippingOrNoiseIsPlainSgdOnTheMeanLoss) {
  nn::Sequential dp_model = CreateModel("cnn_small_gn", 5).value();
  nn::Sequential plain_model = CreateModel("cnn_small_gn", 5).value();
  TensorDataset data = RandomData(16, 2);
  DpSgdOptions options{.clip_norm = 1e6, .noise_multiplier = 0, .expected_batch_size = 16, .learning_rate = 0.1};
  DeterministicRandom rng(1);
  auto trainer = DpSgdTrainer::Create(dp_model, options, data.size(), &rng);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  auto step = (*trainer)->Step(data.images, data.labels);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->clipped, 0);

  torch::optim::SGD sgd(plain_model->parameters(), torch::optim::SGDOptions(0.1));
  nn::functional::cross_entropy(plain_model->forward(data.images), data.labels).backward();
  sgd.step();
  auto dp = Snapshot(dp_model), plain = Snapshot(plain_model);
  for (size_t i = 0; i < dp.size(); ++i) EXPECT_LE(MaxAbsDiff(dp[i], plain[i]), 1e-6) << "parameter " << i;
}

TEST(DpSgdTrainerTest, NoiseHasStandardDeviationSigmaTimesC) {
  // Same model and batch with and without noise: the difference of the
  // parameters after one step (lr 1, divided by the expected batch size) is
  // exactly the noise.
  TensorDataset data = RandomData(32, 4);
  DpSgdOptions options{.clip_norm = 0.5, .noise_multiplier = 2.0, .expected_batch_size = 8, .learning_rate = 1.0};
  nn::Sequential noisy = CreateModel("cnn_small", 9).value();
  nn::Sequential clean = CreateModel("cnn_small", 9).value();
  DeterministicRandom rng(123);
  auto noisy_trainer = DpSgdTrainer::Create(noisy, options, data.size(), &rng);
  options.noise_multiplier = 0;
  auto clean_trainer = DpSgdTrainer::Create(clean, options, data.size(), &rng);
  ASSERT_TRUE(noisy_trainer.ok() && clean_trainer.ok());
  torch::Tensor x = data.images.slice(0, 0, 8), y = data.labels.slice(0, 0, 8);
  ASSERT_TRUE((*noisy_trainer)->Step(x, y).ok());
  ASSERT_TRUE((*clean_trainer)->Step(x, y).ok());
  torch::Tensor noise = (torch::cat(Snapshot(clean)) - torch::cat(Snapshot(noisy))).to(torch::kFloat64) * 8.0;
  const double expected_std = 2.0 * 0.5;
  const double n = static_cast<double>(noise.numel());  // 18,378
  EXPECT_NEAR(noise.std().item<double>(), expected_std, 4 * expected_std / std::sqrt(2 * n));
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 4 * expected_std / std::sqrt(n));
}

TEST(DpSgdTrainerTest, EmptyBatchStillNoisesAndSteps) {
  nn::Sequential model = CreateModel("mlp", 1).value();
  DeterministicRandom rng(5);
  DpSgdOptions options{.clip_norm = 1, .noise_multiplier = 1, .expected_batch_size = 4, .learning_rate = 0.5};
  auto trainer = DpSgdTrainer::Create(model, options, 100, &rng);
  ASSERT_TRUE(trainer.ok());
  auto before = Snapshot(model);
  auto step = (*trainer)->Step(torch::zeros({0, 1, 28, 28}), torch::zeros({0}, torch::kInt64));
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->batch_size, 0);
  EXPECT_GT(MaxAbsDiff(before[0], Snapshot(model)[0]), 0.01);
}

TEST(DpSgdTrainerTest, PoissonBatchSizesHaveMeanQN) {
  DeterministicRandom rng(5);
  DpSgdOptions options{.expected_batch_size = 100, .seed = 77};
  auto trainer = DpSgdTrainer::Create(CreateModel("mlp", 1).value(), options, 10000, &rng);
  ASSERT_TRUE(trainer.ok());
  EXPECT_DOUBLE_EQ((*trainer)->sample_rate(), 0.01);
  const int kDraws = 400;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < kDraws; ++i) {
    torch::Tensor idx = (*trainer)->SampleBatch();
    const double size = static_cast<double>(idx.numel());
    sum += size;
    sum_sq += size * size;
    if (idx.numel() > 1) {
      EXPECT_TRUE((idx.slice(0, 1) > idx.slice(0, 0, -1)).all().item<bool>());  // ascending, distinct
    }
    if (idx.numel() > 0) {
      EXPECT_GE(idx.min().item<int64_t>(), 0);
      EXPECT_LT(idx.max().item<int64_t>(), 10000);
    }
  }
  const double mean = sum / kDraws, var = sum_sq / kDraws - mean * mean;
  // Binomial(10000, 0.01): mean 100, variance 99; the mean's standard error is 0.5.
  EXPECT_NEAR(mean, 100.0, 2.5);
  EXPECT_NEAR(var, 99.0, 25.0);
}

TEST(DpSgdTrainerTest, TrainsAndReportsWhatTheLedgerCharges) {
  // A learnable task: the class is which of two image halves is bright.
  torch::manual_seed(8);
  torch::Tensor labels = torch::randint(0, 2, {256}, torch::kInt64);
  torch::Tensor images = torch::randn({256, 1, 28, 28}) * 0.3;
  images.slice(3, 0, 14) += (labels == 0).to(torch::kFloat32).view({-1, 1, 1, 1});
  images.slice(3, 14, 28) += (labels == 1).to(torch::kFloat32).view({-1, 1, 1, 1});
  TensorDataset data{images, labels};
  nn::Sequential model = CreateModel("cnn_small_gn", 3).value();
  auto loss_of = [&] { return nn::functional::cross_entropy(model->forward(images), labels).item<double>(); };
  const double initial_loss = loss_of();
  DeterministicRandom rng(9);
  DpSgdOptions options{.clip_norm = 1.0, .noise_multiplier = 0.8, .expected_batch_size = 32, .epochs = 2,
                       .learning_rate = 0.5, .momentum = 0.5, .seed = 4};
  auto stats = TrainWithDpSgd(model, data, options, &rng);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->steps, 16);
  EXPECT_DOUBLE_EQ(stats->sample_rate, 0.125);
  EXPECT_DOUBLE_EQ(stats->noise_multiplier, 0.8);
  EXPECT_GT(stats->examples, 0);
  EXPECT_LT(loss_of(), 0.5 * initial_loss);
}

TEST(DpSgdTrainerTest, RejectsInvalidOptions) {
  DeterministicRandom rng(1);
  nn::Sequential model = CreateModel("mlp", 1).value();
  TensorDataset data = RandomData(8, 1);
  EXPECT_EQ(TrainWithDpSgd(model, data, {.clip_norm = 0}, &rng).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TrainWithDpSgd(model, data, {.noise_multiplier = -1}, &rng).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TrainWithDpSgd(model, data, {.expected_batch_size = 4}, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TrainWithDpSgd(model, data, {.expected_batch_size = 9}, &rng).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TrainWithDpSgd(model, TensorDataset{}, {}, &rng).status().code(),
            absl::StatusCode::kFailedPrecondition);
  nn::Sequential batch_norm(nn::Flatten(), nn::Linear(784, 10), nn::BatchNorm1d(10));
  EXPECT_EQ(TrainWithDpSgd(batch_norm, data, {.expected_batch_size = 4}, &rng).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
