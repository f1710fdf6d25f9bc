#include "client/device_pipeline.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/data/spool_source.h"
#include "core/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kFeatures = 4;

// Scores every example with the loss the test sets: the drift monitor's
// input without a model.
class FixedLossScorer final : public ExampleScorer {
 public:
  absl::Status SetModel(const ModelParams& params) override {
    ++models_set;
    has_model_ = !params.values.empty();
    return absl::OkStatus();
  }
  bool has_model() const override { return has_model_; }
  absl::StatusOr<ExampleScores> Score(absl::Span<const float> features, absl::Span<const int32_t> labels) override {
    EXPECT_EQ(features.size(), labels.size() * kFeatures);
    ExampleScores s;
    s.losses.assign(labels.size(), loss);
    s.correct.assign(labels.size(), loss < 0.5 ? 1 : 0);
    scored += static_cast<int>(labels.size());
    return s;
  }
  float loss = 0.05f;
  int scored = 0;
  int models_set = 0;

 private:
  bool has_model_ = false;
};

class DevicePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::path(::testing::TempDir()) / ("fedge_pipeline_" + std::string(
        ::testing::UnitTest::GetInstance()->current_test_info()->name()))).string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  // `n` rows of kFeatures values in [0, 1] and labels 0/1, published by rename.
  void Publish(const std::string& name, int n) {
    const std::string tmp = dir_ + "/." + name;
    {
      std::ofstream out(tmp);
      for (int i = 0; i < n; ++i) {
        for (int f = 0; f < kFeatures; ++f) out << (0.1 * ((i + f) % 10)) << ",";
        out << (i % 2) << "\n";
      }
    }
    fs::rename(tmp, dir_ + "/" + name);
  }

  absl::StatusOr<std::unique_ptr<DevicePipeline>> Make(bool drift, FixedLossScorer** scorer_out) {
    CsvFormat format;
    format.num_features = kFeatures;
    format.num_classes = 2;
    FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<SpoolSource> source,
                           SpoolSource::Open({.dir = dir_, .format = format}, [](std::string_view) {}));
    DevicePipelineOptions options;
    options.stream.preprocess.dim = kFeatures;
    options.stream.preprocess.num_classes = 2;
    options.stream.store.dim = kFeatures;
    options.stream.store.window_capacity = 64;
    options.stream.store.reservoir_capacity = 16;
    options.train_examples = 32;
    options.monitor_drift = drift;
    options.drift.cooldown_samples = 0;
    options.drift.reference_examples = 20;
    auto scorer = std::make_unique<FixedLossScorer>();
    *scorer_out = scorer.get();
    return DevicePipeline::Create(options, std::move(source), drift ? std::move(scorer) : nullptr, 7, &clock_);
  }

  static ModelParams SomeModel() {
    ModelParams m;
    m.values = {1, 2, 3};
    return m;
  }

  std::string dir_;
  FakeClock clock_;
};

TEST_F(DevicePipelineTest, StoresWhatArrivesAndDrawsTrainingSets) {
  FixedLossScorer* scorer = nullptr;
  auto pipeline = Make(/*drift=*/false, &scorer);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  DevicePipeline& p = **pipeline;
  ASSERT_TRUE(p.Step().ok());
  EXPECT_EQ(p.num_examples(), 0u);
  Publish("0001.csv", 40);
  ASSERT_TRUE(p.Step().ok());
  EXPECT_EQ(p.stream().store().size(), 40);
  EXPECT_EQ(p.num_examples(), 32u);  // a training set: capped by train_examples
  absl::StatusOr<ExampleBatch> batch = p.Draw(0, 1);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 32);  // train_examples
  EXPECT_EQ(batch->dim, kFeatures);
  EXPECT_EQ(p.Draw(10, 1)->size(), 10);  // the task's own cap
  EXPECT_EQ(p.stats().source.files_read, 1u);
  EXPECT_EQ(p.stats().scored, 0u);
}

TEST_F(DevicePipelineTest, ScoresOnlyAfterTrainingAndReportsDrift) {
  FixedLossScorer* scorer = nullptr;
  auto pipeline = Make(/*drift=*/true, &scorer);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  DevicePipeline& p = **pipeline;
  std::vector<proto::DriftAlarm> reported;
  p.SetReporter([&](absl::Span<const proto::DriftAlarm> alarms) {
    reported.insert(reported.end(), alarms.begin(), alarms.end());
    return absl::OkStatus();
  });
  Publish("0001.csv", 50);
  ASSERT_TRUE(p.Step().ok());
  EXPECT_EQ(scorer->scored, 0);  // no model trained from yet: nothing scored

  p.OnTrained(SomeModel());  // what the trainer wrapper calls after a task
  Publish("0002.csv", 100);
  ASSERT_TRUE(p.Step().ok());
  EXPECT_EQ(scorer->models_set, 1);
  EXPECT_EQ(scorer->scored, 20 + 100);  // the re-baseline on the window, then the new data
  EXPECT_EQ(p.stats().alarms, 0u);
  EXPECT_FALSE(p.stream().prioritising_recent());

  scorer->loss = 4.0f;  // the new data no longer fit the model
  Publish("0003.csv", 100);
  ASSERT_TRUE(p.Step().ok());
  EXPECT_GE(p.stats().alarms, 1u);
  ASSERT_FALSE(reported.empty());
  EXPECT_EQ(reported[0].detector(), "page_hinkley");
  EXPECT_EQ(p.stats().alarms_reported, reported.size());
  EXPECT_TRUE(p.stream().prioritising_recent());
}

TEST_F(DevicePipelineTest, AFailedReportIsSentAtALaterStep) {
  FixedLossScorer* scorer = nullptr;
  auto pipeline = Make(/*drift=*/true, &scorer);
  ASSERT_TRUE(pipeline.ok());
  DevicePipeline& p = **pipeline;
  bool online = false;
  int delivered = 0;
  p.SetReporter([&](absl::Span<const proto::DriftAlarm> alarms) {
    if (!online) return absl::UnavailableError("offline");
    delivered += static_cast<int>(alarms.size());
    return absl::OkStatus();
  });
  p.OnTrained(SomeModel());
  ASSERT_TRUE(p.Step().ok());
  scorer->loss = 0.05f;
  Publish("0001.csv", 60);
  ASSERT_TRUE(p.Step().ok());
  scorer->loss = 4.0f;
  Publish("0002.csv", 100);
  ASSERT_TRUE(p.Step().ok());
  ASSERT_GE(p.stats().alarms, 1u);
  EXPECT_EQ(delivered, 0);
  online = true;
  ASSERT_TRUE(p.Step().ok());  // no new data: the pending report goes out
  EXPECT_GE(delivered, 1);
  EXPECT_EQ(p.stats().alarms_reported, static_cast<uint64_t>(delivered));
}

TEST_F(DevicePipelineTest, RefusesASourceOfAnotherWidthAndDriftWithoutScorer) {
  CsvFormat format;
  format.num_features = kFeatures;
  auto source = SpoolSource::Open({.dir = dir_, .format = format});
  ASSERT_TRUE(source.ok());
  DevicePipelineOptions options;  // preprocess.dim 784
  EXPECT_THAT(DevicePipeline::Create(options, *std::move(source), nullptr, 1, &clock_).status().message(),
              HasSubstr("has 4 features per example but the preprocessing expects 784"));
  auto again = SpoolSource::Open({.dir = dir_, .format = format});
  options.stream.preprocess.dim = options.stream.store.dim = kFeatures;
  options.monitor_drift = true;
  EXPECT_THAT(DevicePipeline::Create(options, *std::move(again), nullptr, 1, &clock_).status().message(),
              HasSubstr("needs a scorer"));
}

TEST_F(DevicePipelineTest, ASpoolDirectoryThatVanishesStopsTheDevice) {
  FixedLossScorer* scorer = nullptr;
  auto pipeline = Make(/*drift=*/false, &scorer);
  ASSERT_TRUE(pipeline.ok());
  fs::remove_all(dir_);
  EXPECT_EQ((*pipeline)->Step().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fedge
