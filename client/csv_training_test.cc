// End to end on tabular data, without images: a CSV file of sensor-like
// rows -> CsvSource -> DevicePipeline (preprocessing, store) -> a streaming
// TorchTrainer of mlp_tabular, whose loss must fall over a few tasks.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "client/data/csv_source.h"
#include "client/device_pipeline.h"
#include "client/trainer.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

constexpr int64_t kFeatures = 6;

// Rows of kFeatures readings in sensor units (offset and scaled, so the
// per-feature normalisation matters); the class is which side of a fixed
// hyperplane the reading lies on. A few rows are broken on purpose.
std::string WriteCsv(int rows) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / "fedge_tabular.csv").string();
  std::ofstream out(path);
  out << "t0,t1,t2,t3,t4,t5,class\n";
  SeededRandom rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int i = 0; i < rows; ++i) {
    double x[kFeatures];
    double side = 0;
    for (int f = 0; f < kFeatures; ++f) {
      x[f] = normal(rng);
      side += (f % 2 == 0 ? 1.0 : -0.5) * x[f];
    }
    for (int f = 0; f < kFeatures; ++f) out << 20.0 + 5.0 * x[f] << ",";
    out << (side > 0 ? 1 : 0) << "\n";
    if (i % 97 == 0) out << "1,2,3\n";  // wrong column count: skipped
  }
  return path;
}

TEST(CsvTrainingTest, MlpTabularLearnsFromACsvSource) {
  CsvFormat format;
  format.num_features = kFeatures;
  format.num_classes = 2;
  format.header = true;
  auto source = CsvSource::Open(WriteCsv(600), format, [](std::string_view) {});
  ASSERT_TRUE(source.ok()) << source.status();

  DevicePipelineOptions options;
  PreprocessOptions& p = options.stream.preprocess;
  p.dim = kFeatures;
  p.num_classes = 2;
  p.min_value = -1e6;
  p.max_value = 1e6;
  p.statistics = StatisticsMode::kPerFeature;
  p.prior_mean = 0;
  p.prior_std = 1;
  p.prior_examples = 10;
  options.stream.store = {.dim = kFeatures, .window_capacity = 1024, .reservoir_capacity = 0};
  options.train_examples = 512;
  options.max_examples_per_step = 100;  // a file is still read whole in one step
  FakeClock clock;
  auto pipeline = DevicePipeline::Create(options, *std::move(source), nullptr, 3, &clock);
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  ASSERT_TRUE((*pipeline)->Step().ok());
  EXPECT_EQ((*pipeline)->stream().store().size(), 600);
  EXPECT_TRUE((*pipeline)->source().exhausted());
  EXPECT_EQ((*pipeline)->num_examples(), 512u);
  EXPECT_EQ((*pipeline)->stats().source.bad_rows, 7u);

  TorchTrainerOptions trainer_options;
  trainer_options.architecture = "mlp_tabular";
  trainer_options.shape = {.input_features = kFeatures, .num_classes = 2};
  auto trainer = TorchTrainer::Create(trainer_options, pipeline->get());
  ASSERT_TRUE(trainer.ok()) << trainer.status();

  ModelParams global;
  global.layout = (*trainer)->layout();
  global.values.resize(global.layout.num_elements());
  for (size_t i = 0; i < global.values.size(); ++i) global.values[i] = 0.2f * std::sin(static_cast<float>(i) * 1.3f);
  proto::TrainConfig config;
  config.set_batch_size(32);
  config.set_learning_rate(0.1);
  double first_loss = 0;
  double last_loss = 0;
  double accuracy = 0;
  for (int task = 0; task < 4; ++task) {
    absl::StatusOr<TrainResult> result = (*trainer)->Train(global, config, 100 + task);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->num_examples, 512u);
    if (task == 0) first_loss = result->metrics.at("train_loss");
    last_loss = result->metrics.at("local_loss");
    accuracy = result->metrics.at("local_accuracy");
    global = result->local;
  }
  EXPECT_LT(last_loss, 0.5 * first_loss);
  EXPECT_GT(accuracy, 0.9);
}

TEST(CsvTrainingTest, TheTrainerRefusesDataOfAnotherWidth) {
  CsvFormat format;
  format.num_features = kFeatures;
  format.num_classes = 2;
  auto source = CsvSource::Open(WriteCsv(10), format, [](std::string_view) {});
  ASSERT_TRUE(source.ok());
  DevicePipelineOptions options;
  options.stream.preprocess.dim = options.stream.store.dim = kFeatures;
  options.stream.preprocess.num_classes = 2;
  FakeClock clock;
  auto pipeline = DevicePipeline::Create(options, *std::move(source), nullptr, 3, &clock);
  ASSERT_TRUE(pipeline.ok());
  TorchTrainerOptions trainer_options;
  trainer_options.architecture = "mlp_tabular";
  trainer_options.shape = {.input_features = 5, .num_classes = 2};
  EXPECT_EQ(TorchTrainer::Create(trainer_options, pipeline->get()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
