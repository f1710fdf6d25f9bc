#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "compression/model/deploy_pipeline.h"
#include "compression/model/distillation.h"
#include "compression/model/distilling_deployer.h"
#include "compression/model/int8_quantizer.h"
#include "compression/model/pruning.h"
#include "core/artifact.h"
#include "core/idx.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/engine.h"
#include "models/dataset.h"
#include "models/testing/synthetic_data.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

class ModelCompressionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { torch::set_num_threads(1); }

  // Synthetic brightness-coded images, and a zoo model trained on them.
  static TensorDataset SyntheticData(int64_t n, int classes = 4) {
    return ToTensors(testing::BrightnessDataset(n, classes));
  }
  static torch::nn::Sequential TrainedModel(const std::string& name, const TensorDataset& data, int epochs) {
    torch::nn::Sequential model = *CreateModel(name, 3);
    TrainOptions o;
    o.epochs = epochs;
    o.batch_size = 32;
    o.learning_rate = 0.02;
    o.momentum = 0.9;
    EXPECT_TRUE(Train(model, data, o).ok());
    return model;
  }
  static SigningKey Key() { return *SigningKey::Generate(); }
};

// Fraction of examples whose int8 runtime argmax equals LibTorch's fp32 argmax.
double ArgmaxAgreement(torch::nn::Sequential& model, const std::string& artifact, const VerifyKey& key,
                       const torch::Tensor& images) {
  auto engine = InferenceEngine::Load(artifact, key, EngineOptions{});
  EXPECT_TRUE(engine.ok()) << engine.status();
  if (!engine.ok()) return 0;
  torch::NoGradGuard no_grad;
  model->eval();
  const torch::Tensor fp32 = model->forward(images).argmax(1);
  const torch::Tensor x = images.contiguous();
  std::vector<float> probs((*engine)->num_classes());
  int agree = 0;
  for (int64_t i = 0; i < images.size(0); ++i) {
    int label = -1;
    absl::Span<const float> in(x.data_ptr<float>() + i * (*engine)->input_size(), (*engine)->input_size());
    EXPECT_TRUE((*engine)->Classify(in, absl::MakeSpan(probs), &label).ok());
    agree += label == fp32[i].item<int64_t>() ? 1 : 0;
  }
  return static_cast<double>(agree) / static_cast<double>(images.size(0));
}

std::string QuantizeAndSign(torch::nn::Sequential& model, const torch::Tensor& calibration, const SigningKey& key,
                            QuantizeOptions options = {}) {
  auto body = QuantizeToInt8(model, calibration, options, proto::ArtifactHeader{});
  EXPECT_TRUE(body.ok()) << body.status();
  if (!body.ok()) return "";
  return *SignArtifact(*body, key);
}

TEST_F(ModelCompressionTest, DistillOptionsAreValidated) {
  EXPECT_TRUE(ValidateDistillOptions(DistillOptions{}).ok());
  DistillOptions o;
  o.temperature = 0;
  EXPECT_THAT(ValidateDistillOptions(o).message(), HasSubstr("temperature"));
  o = {};
  o.epochs = 0;
  EXPECT_EQ(ValidateDistillOptions(o).code(), absl::StatusCode::kInvalidArgument);
  o = {};
  o.optimizer = "rmsprop";
  EXPECT_THAT(ValidateDistillOptions(o).message(), HasSubstr("optimizer"));
  o = {};
  o.momentum = 1;
  EXPECT_EQ(ValidateDistillOptions(o).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelCompressionTest, DistillationLossIsTemperatureScaledKl) {
  const torch::Tensor teacher = torch::tensor({{0.0f, 0.0f}});
  const torch::Tensor student = torch::tensor({{std::log(3.0f), 0.0f}});
  // KL([.5, .5] || [.75, .25]) = 0.5 * ln(4/3).
  EXPECT_NEAR(DistillationLoss(student, teacher, 1.0).item<double>(), 0.5 * std::log(4.0 / 3.0), 1e-6);
  EXPECT_NEAR(DistillationLoss(student, teacher, 2.0).item<double>(),
              4.0 * DistillationLoss(student / 2, teacher / 2, 1.0).item<double>(), 1e-6);
  EXPECT_NEAR(DistillationLoss(teacher, teacher, 3.0).item<double>(), 0.0, 1e-7);
}

TEST_F(ModelCompressionTest, DistillationReducesKlOnProxySet) {
  const TensorDataset data = SyntheticData(256);
  torch::nn::Sequential teacher = TrainedModel("cnn_small", data, 2);
  for (const std::string optimizer : {"adam", "sgd"}) {
    DistillOptions o;
    o.epochs = 3;
    o.batch_size = 32;
    o.temperature = 2;
    o.optimizer = optimizer;
    o.learning_rate = optimizer == "adam" ? 2e-3 : 0.02;
    auto r = Distill("cnn_small", ToParams(*teacher), "cnn_student", data.images, o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_LT(r->stats.final_kl, 0.5 * r->stats.initial_kl) << optimizer;
    EXPECT_EQ(r->stats.steps, 3 * 8);
    torch::nn::Sequential student = *CreateModel("cnn_student", 0);
    ASSERT_TRUE(LoadParams(r->student_params, *student).ok());
    auto kl = DistillationKl(teacher, student, data.images, 2.0);
    ASSERT_TRUE(kl.ok());
    EXPECT_NEAR(*kl, r->stats.final_kl, 1e-4);
  }
}

TEST_F(ModelCompressionTest, DistillRejectsMismatchedTeacherParams) {
  const TensorDataset data = SyntheticData(8);
  torch::nn::Sequential lenet = *CreateModel("cnn_lenet", 1);
  auto r = Distill("cnn_small", ToParams(*lenet), "cnn_student", data.images, DistillOptions{});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  r = Distill("cnn_small", ToParams(*lenet), "cnn_student", torch::zeros({4, 28}), DistillOptions{});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelCompressionTest, UnsupportedLayerIsRefusedByName) {
  torch::nn::Sequential gn = *CreateModel("cnn_small_gn", 1);
  auto body = QuantizeToInt8(gn, torch::zeros({2, 1, 28, 28}), QuantizeOptions{}, {});
  ASSERT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(body.status().message(), HasSubstr("layer 1"));
  EXPECT_THAT(body.status().message(), HasSubstr("GroupNorm"));

  torch::nn::Sequential grouped(torch::nn::Conv2d(torch::nn::Conv2dOptions(2, 4, 3).groups(2)), torch::nn::Flatten());
  auto refused = ToInt8Builder(grouped, {2, 8, 8});
  EXPECT_THAT(refused.status().message(), HasSubstr("groups"));
}

TEST_F(ModelCompressionTest, QuantizedGraphFusesReluAndIsVersioned) {
  torch::nn::Sequential student = *CreateModel("cnn_student", 1);
  proto::ArtifactHeader header;
  header.set_parent_version(7);
  auto body = QuantizeToInt8(student, torch::randn({16, 1, 28, 28}), QuantizeOptions{}, header);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->header().dtype(), proto::DTYPE_INT8);
  EXPECT_EQ(body->header().parent_version(), 7u);
  const proto::Int8Graph& g = body->int8_graph();
  EXPECT_EQ(g.format_version(), 1u);
  ASSERT_EQ(g.ops_size(), 6);  // conv+relu, pool, conv+relu, pool, flatten, linear
  EXPECT_TRUE(g.ops(0).fused_relu());
  EXPECT_EQ(g.ops(1).kind(), proto::Int8Op::MAX_POOL2D);
  EXPECT_TRUE(g.ops(2).fused_relu());
  EXPECT_EQ(g.ops(5).kind(), proto::Int8Op::LINEAR);
  EXPECT_FALSE(g.ops(5).fused_relu());
  EXPECT_EQ(g.ops(0).weight_scales_size(), 8);
}

TEST_F(ModelCompressionTest, Int8MatchesTorchOnSyntheticData) {
  const TensorDataset data = SyntheticData(200);
  torch::nn::Sequential student = TrainedModel("cnn_student", data, 2);
  const SigningKey key = Key();
  for (CalibrationMethod method : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile}) {
    QuantizeOptions o;
    o.calibration = method;
    const std::string artifact = QuantizeAndSign(student, data.images.slice(0, 0, 100), key, o);
    EXPECT_GE(ArgmaxAgreement(student, artifact, key.verify_key(), data.images), 0.97);
  }
}

TEST_F(ModelCompressionTest, Int8MatchesTorchOnFashionMnist) {
  const std::string dir = kDefaultFashionMnistDir;
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz")) GTEST_SKIP() << "no Fashion-MNIST in " << dir;
  auto train = LoadFashionMnist(dir, "train");
  auto test = LoadFashionMnist(dir, "test");
  ASSERT_TRUE(train.ok() && test.ok());
  std::vector<int64_t> train_idx(4000), test_idx(400);
  for (size_t i = 0; i < train_idx.size(); ++i) train_idx[i] = static_cast<int64_t>(i);
  for (size_t i = 0; i < test_idx.size(); ++i) test_idx[i] = static_cast<int64_t>(i);
  const TensorDataset train_t = ToTensors(*train, train_idx);
  const TensorDataset test_t = ToTensors(*test, test_idx);
  torch::nn::Sequential student = TrainedModel("cnn_student", train_t, 1);
  const SigningKey key = Key();
  const std::string artifact = QuantizeAndSign(student, train_t.images.slice(0, 0, 500), key);
  EXPECT_GE(ArgmaxAgreement(student, artifact, key.verify_key(), test_t.images), 0.97);
}

TEST_F(ModelCompressionTest, PruningZeroesRequestedFraction) {
  for (PruneScope scope : {PruneScope::kGlobal, PruneScope::kPerLayer}) {
    torch::nn::Sequential lenet = *CreateModel("cnn_lenet", 2);
    std::vector<torch::Tensor> biases_before;
    for (const auto& p : lenet->parameters()) {
      if (p.dim() == 1) biases_before.push_back(p.detach().clone());
    }
    auto r = PruneByMagnitude(*lenet, PruneOptions{0.6, scope});
    ASSERT_TRUE(r.ok()) << r.status();
    int64_t zeros = 0, total = 0;
    size_t b = 0;
    for (const auto& p : lenet->parameters()) {
      if (p.dim() == 1) {
        EXPECT_TRUE(torch::equal(p, biases_before[b++]));
        continue;
      }
      const int64_t layer_zeros = p.eq(0).sum().item<int64_t>();
      if (scope == PruneScope::kPerLayer) {
        EXPECT_EQ(layer_zeros, static_cast<int64_t>(0.6 * p.numel()));
      }
      zeros += layer_zeros;
      total += p.numel();
    }
    EXPECT_EQ(total, r->stats.prunable_weights);
    EXPECT_EQ(zeros, r->stats.zeroed_weights);
    EXPECT_NEAR(r->stats.achieved_fraction, 0.6, 1e-3);
  }
  torch::nn::Sequential lenet = *CreateModel("cnn_lenet", 2);
  EXPECT_EQ(PruneByMagnitude(*lenet, PruneOptions{1.0}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelCompressionTest, DeployPipelineSignsAVerifiableArtifact) {
  const TensorDataset data = SyntheticData(256, 2);
  torch::nn::Sequential teacher = TrainedModel("cnn_small", data, 3);
  DeployOptions o;
  o.teacher_architecture = "cnn_small";
  o.distill.epochs = 5;
  o.distill.batch_size = 32;
  o.distill.learning_rate = 5e-3;
  o.distill.temperature = 2;
  o.prune.fraction = 0.3;
  o.fine_tune_epochs = 1;
  o.version = 5;
  o.parent_version = 4;
  const SigningKey key = Key();
  auto r = RunDeployPipeline(ToParams(*teacher), DeployData{data.images, data}, o, key);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->report.teacher_accuracy, 0.9);
  EXPECT_GT(r->report.student_fp32_accuracy, 0.9);
  EXPECT_NEAR(r->report.student_int8_accuracy, r->report.student_fp32_accuracy, 0.05);
  EXPECT_EQ(r->report.artifact_bytes, static_cast<int64_t>(r->artifact.size()));
  EXPECT_GT(r->report.size_ratio, 4.0);
  EXPECT_NEAR(r->report.prune.achieved_fraction, 0.3, 1e-3);

  // Pruned weights stayed zero through the fine-tune.
  torch::nn::Sequential student = *CreateModel("cnn_student", 0);
  ASSERT_TRUE(LoadParams(r->student_params, *student).ok());
  int64_t zeros = 0;
  for (const auto& p : student->parameters()) zeros += p.dim() >= 2 ? p.eq(0).sum().item<int64_t>() : 0;
  EXPECT_GE(zeros, r->report.prune.zeroed_weights);

  auto engine = InferenceEngine::Load(r->artifact, key.verify_key(), EngineOptions{});
  ASSERT_TRUE(engine.ok()) << engine.status();
  const proto::ArtifactHeader& h = (*engine)->header();
  EXPECT_EQ(h.dtype(), proto::DTYPE_INT8);
  EXPECT_EQ(h.version(), 5u);
  EXPECT_EQ(h.parent_version(), 4u);
  EXPECT_EQ(h.architecture(), "cnn_student");
  EXPECT_DOUBLE_EQ(h.metrics().at("int8_accuracy"), r->report.student_int8_accuracy);
  EXPECT_DOUBLE_EQ(h.metrics().at("fp32_accuracy"), r->report.student_fp32_accuracy);

  const SigningKey other = Key();
  EXPECT_EQ(InferenceEngine::Load(r->artifact, other.verify_key(), EngineOptions{}).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(EvaluateInt8Artifact(r->artifact, other.verify_key(), data).status().code(),
            absl::StatusCode::kPermissionDenied);

  DeployOptions bad = o;
  bad.teacher_architecture = "cnn_lenet";
  EXPECT_EQ(RunDeployPipeline(ToParams(*teacher), DeployData{data.images, data}, bad, key).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelCompressionTest, DistillingDeployerVersionsArtifactsAndWarmStarts) {
  const TensorDataset data = SyntheticData(256, 2);
  torch::nn::Sequential teacher = TrainedModel("cnn_small", data, 3);
  DistillingDeployerOptions o;
  o.deploy.distill.epochs = 3;
  o.deploy.distill.batch_size = 32;
  o.deploy.distill.learning_rate = 5e-3;
  o.deploy.model_id = "fleet";
  const SigningKey key = Key();
  auto deployer = DistillingDeployer::Create(o, DeployData{data.images, data}, key);
  ASSERT_TRUE(deployer.ok()) << deployer.status();
  for (uint64_t version : {1, 2}) {
    auto d = (*deployer)->Deploy(ToParams(*teacher), /*parent_version=*/10 + version, version);
    ASSERT_TRUE(d.ok()) << d.status();
    auto engine = InferenceEngine::Load(d->artifact, key.verify_key(), EngineOptions{});
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_EQ((*engine)->header().version(), version);
    EXPECT_EQ((*engine)->header().parent_version(), 10 + version);
    EXPECT_EQ((*engine)->header().model_id(), "fleet");
    EXPECT_GT(d->metrics.at("teacher_accuracy"), 0.9);
    EXPECT_NEAR(d->metrics.at("int8_accuracy"), d->metrics.at("fp32_accuracy"), 0.05);
    EXPECT_DOUBLE_EQ(d->metrics.at("int8_accuracy"), (*engine)->header().metrics().at("int8_accuracy"));
    EXPECT_GT(d->metrics.at("size_ratio"), 4.0);
  }
  EXPECT_EQ((*deployer)->Deploy(ModelParams{}, 1, 3).status().code(), absl::StatusCode::kInvalidArgument);

  // A warm start begins closer to the teacher than a fresh student.
  DeployOptions fresh = o.deploy;
  fresh.distill.epochs = 1;
  auto first = RunDeployPipeline(ToParams(*teacher), DeployData{data.images, data}, fresh, key);
  ASSERT_TRUE(first.ok()) << first.status();
  DeployOptions warm = fresh;
  warm.initial_student = first->student_params;
  auto second = RunDeployPipeline(ToParams(*teacher), DeployData{data.images, data}, warm, key);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_LT(second->report.distill.initial_kl, 0.5 * first->report.distill.initial_kl);
  warm.initial_student = ToParams(*teacher);  // not a student
  EXPECT_EQ(RunDeployPipeline(ToParams(*teacher), DeployData{data.images, data}, warm, key).status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(DistillingDeployer::Create(o, DeployData{data.images, TensorDataset{}}, key).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DistillingDeployer::Create(o, DeployData{torch::Tensor(), data}, key).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
