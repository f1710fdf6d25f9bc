#include "client/trainer.h"

#include <cmath>

#include "gtest/gtest.h"
#include "models/torch_evaluator.h"
#include "models/testing/synthetic_data.h"

namespace fedge {
namespace {

constexpr char kArch[] = "cnn_student";

// A fresh model's parameters, taken through the evaluator's architecture so
// the test needs no Torch headers: the trainer returns the same layout.
class TorchTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = testing::BrightnessDataset(48);
    indices_.resize(40);
    for (int64_t i = 0; i < 40; ++i) indices_[i] = i;
    auto trainer = TorchTrainer::Create({.architecture = kArch, .torch_threads = 1}, data_, indices_);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    trainer_ = *std::move(trainer);
    // The global model: one training pass from zero initial weights is not
    // needed; a layout-conformant vector of small values is a valid model.
    global_.layout = trainer_->layout();
    global_.values.resize(global_.layout.num_elements());
    for (size_t i = 0; i < global_.values.size(); ++i) {
      global_.values[i] = 0.05f * std::sin(static_cast<float>(i) * 0.37f);
    }
    config_.set_local_epochs(2);
    config_.set_batch_size(8);
    config_.set_learning_rate(0.05);
  }

  double DistanceToGlobal(const ModelParams& local) const {
    double sum = 0;
    for (size_t i = 0; i < local.values.size(); ++i) {
      const double d = local.values[i] - global_.values[i];
      sum += d * d;
    }
    return std::sqrt(sum);
  }

  ImageDataset data_;
  std::vector<int64_t> indices_;
  std::unique_ptr<TorchTrainer> trainer_;
  ModelParams global_;
  proto::TrainConfig config_;
};

TEST_F(TorchTrainerTest, ReturnsLocalParametersInTheGlobalLayout) {
  EXPECT_EQ(trainer_->architecture(), kArch);
  EXPECT_EQ(trainer_->num_examples(), 40u);
  auto result = trainer_->Train(global_, config_, 1);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->local.layout == global_.layout);
  EXPECT_EQ(result->local.values.size(), global_.values.size());
  EXPECT_GT(DistanceToGlobal(result->local), 0);
  EXPECT_EQ(result->num_examples, 40u);
  EXPECT_EQ(result->metrics.at("train_steps"), 10);  // 2 epochs x 5 batches
  EXPECT_GT(result->metrics.at("train_loss"), 0);
  EXPECT_GE(result->metrics.at("local_accuracy"), 0);
  EXPECT_LE(result->metrics.at("local_accuracy"), 1);
}

TEST_F(TorchTrainerTest, ATaskReducesTheLossOnLocalData) {
  auto evaluator = TorchEvaluator::Create(kArch, data_);
  ASSERT_TRUE(evaluator.ok());
  config_.set_local_epochs(3);
  auto result = trainer_->Train(global_, config_, 2);
  ASSERT_TRUE(result.ok()) << result.status();
  auto before = (*evaluator)->Evaluate(global_);
  auto after = (*evaluator)->Evaluate(result->local);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(after->at("test_loss"), before->at("test_loss"));
  EXPECT_GT(after->at("test_accuracy"), 0.9);
}

TEST_F(TorchTrainerTest, SameSeedSameResultAndTheGlobalIsUntouched) {
  const std::vector<float> original = global_.values;
  auto a = trainer_->Train(global_, config_, 9);
  auto b = trainer_->Train(global_, config_, 9);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->local.values, b->local.values);
  EXPECT_EQ(global_.values, original);
}

TEST_F(TorchTrainerTest, ProximalTermPullsTowardTheGlobalModel) {
  auto free = trainer_->Train(global_, config_, 3);
  config_.set_proximal_mu(5.0);
  auto prox = trainer_->Train(global_, config_, 3);
  ASSERT_TRUE(free.ok() && prox.ok());
  EXPECT_LT(DistanceToGlobal(prox->local), 0.8 * DistanceToGlobal(free->local));
}

TEST_F(TorchTrainerTest, HonoursMaxExamplesAndAdam) {
  config_.set_max_examples(16);
  config_.set_optimizer("adam");
  config_.set_learning_rate(0.001);
  config_.set_momentum(0);
  config_.set_weight_decay(1e-4);
  auto result = trainer_->Train(global_, config_, 4);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->num_examples, 16u);
  EXPECT_EQ(result->metrics.at("train_steps"), 4);  // 2 epochs x 2 batches
}

TEST_F(TorchTrainerTest, RefusesWhatItCannotDo) {
  ModelParams other{*ParamLayout::Create({{"w", {3}}}), {1, 2, 3}};
  EXPECT_EQ(trainer_->Train(other, config_, 1).status().code(), absl::StatusCode::kInvalidArgument);
  proto::TrainConfig bad = config_;
  bad.set_optimizer("lbfgs");
  EXPECT_EQ(trainer_->Train(global_, bad, 1).status().code(), absl::StatusCode::kInvalidArgument);
  bad = config_;
  bad.set_local_epochs(-1);
  EXPECT_EQ(trainer_->Train(global_, bad, 1).status().code(), absl::StatusCode::kInvalidArgument);
  bad = config_;
  bad.set_dp_noise_multiplier(1.1);  // DP-SGD without a clipping norm
  EXPECT_EQ(trainer_->Train(global_, bad, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(trainer_->PlanPrivacy(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TorchTrainerTest, ADpTaskTrainsWithDpSgdAndReportsWhatItSpent) {
  EXPECT_FALSE(trainer_->PlanPrivacy(config_)->has_value());
  config_.set_dp_noise_multiplier(1.0);
  config_.set_dp_clip_norm(1.0);
  config_.set_batch_size(8);
  auto planned = trainer_->PlanPrivacy(config_);
  ASSERT_TRUE(planned.ok() && planned->has_value()) << planned.status();
  EXPECT_DOUBLE_EQ((*planned)->sample_rate, 8.0 / 40);
  EXPECT_EQ((*planned)->steps, 10);  // 2 epochs of ceil(40 / 8) expected batches
  auto result = trainer_->Train(global_, config_, 5);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE(result->privacy.has_value());
  EXPECT_EQ(result->privacy->steps, (*planned)->steps);
  EXPECT_DOUBLE_EQ(result->privacy->noise_multiplier, 1.0);
  EXPECT_GT(DistanceToGlobal(result->local), 0);
  EXPECT_EQ(result->metrics.count("train_loss"), 0u);  // nothing data-dependent leaves a DP task
  EXPECT_EQ(result->metrics.count("local_accuracy"), 0u);
}

// A condition failing before the 4th batch stops both training loops there.
TEST_F(TorchTrainerTest, StopsBetweenBatchesWhenAConditionFails) {
  for (const bool dp : {false, true}) {
    int checks = 0;
    TorchTrainerOptions options{.architecture = kArch, .torch_threads = 1};
    options.between_batches = [&checks]() -> absl::Status {
      if (++checks < 4) return absl::OkStatus();
      return absl::AbortedError("training interrupted: battery at 12%, below 20%");
    };
    auto trainer = TorchTrainer::Create(options, data_, indices_);
    ASSERT_TRUE(trainer.ok()) << trainer.status();
    proto::TrainConfig config = config_;
    if (dp) {
      config.set_dp_noise_multiplier(1.0);
      config.set_dp_clip_norm(1.0);
    }
    auto result = (*trainer)->Train(global_, config, 1);
    EXPECT_TRUE(absl::IsAborted(result.status())) << (dp ? "DP-SGD: " : "plain: ") << result.status();
    EXPECT_EQ(checks, 4) << "checked before each batch, stopped at the first failure";
  }
}

TEST(TorchTrainerCreateTest, ValidatesItsInputs) {
  const ImageDataset data = testing::BrightnessDataset(4);
  const std::vector<int64_t> ok = {0, 1}, out_of_range = {0, 4}, none = {};
  EXPECT_TRUE(TorchTrainer::Create({.architecture = kArch}, data, ok).ok());
  EXPECT_EQ(TorchTrainer::Create({.architecture = kArch}, data, out_of_range).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TorchTrainer::Create({.architecture = kArch}, data, none).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(TorchTrainer::Create({.architecture = "resnet"}, data, ok).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
