// Tests of the LibTorch-free drift pieces: the [drift] table, the schedule,
// the transforms and the report figures.
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulations/drift_report.h"
#include "simulations/drift_schedule.h"
#include "simulations/drift_transform.h"
#include "simulations/scenario.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

const ScenarioChecks kNoDataDir{.known_models = {"cnn_small"}, .require_data_dir = false};

absl::StatusOr<Scenario> Parse(const std::string& drift_table) {
  return ParseScenario(absl::StrCat("federation.rounds = 20\n[population]\nnum_devices = 10\n", drift_table), "t.toml",
                       kNoDataDir);
}

TEST(DriftScheduleTest, AbsentTableMeansNoDrift) {
  auto s = Parse("");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->drift.enabled());
  EXPECT_FALSE(ScenarioToJson(*s).contains("drift"));
}

TEST(DriftScheduleTest, EveryKeyParses) {
  auto s = Parse(R"(
[drift]
kind = "label_swap"
devices = [1, 4]
start_round = 5
ramp_rounds = 3
labels = [3, 5]
response = false
report_alarms = true
observe_examples = 50
window = 100
reservoir = 20
train_examples = 64
hold_examples = 640
eval_examples = 500
[drift.detector]
name = "adwin"
signal = "error"
cooldown_samples = 10
warmup_samples = 5
[drift.detector.adwin]
delta = 0.01
clock = 16
)");
  ASSERT_TRUE(s.ok()) << s.status();
  const DriftSettings& d = s->drift;
  EXPECT_EQ(d.kind, DriftKind::kLabelSwap);
  EXPECT_EQ(d.devices, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(d.start_round, 5);
  EXPECT_EQ(d.ramp_rounds, 3);
  EXPECT_EQ(d.labels, (std::vector<int>{3, 5}));
  EXPECT_FALSE(d.response);
  EXPECT_EQ(d.observe_examples, 50);
  EXPECT_EQ(d.window, 100);
  EXPECT_EQ(d.reservoir, 20);
  EXPECT_EQ(d.train_examples, 64);
  EXPECT_EQ(d.hold_examples, 640);
  EXPECT_EQ(d.eval_examples, 500);
  EXPECT_EQ(d.detector.name, "adwin");
  EXPECT_EQ(d.signal, DriftSignalKind::kError);
  EXPECT_EQ(d.detector.options[0], (std::pair<std::string, double>("delta", 0.01)));
  EXPECT_EQ(d.detector.options[2], (std::pair<std::string, double>("clock", 16)));
  EXPECT_EQ(d.cooldown_samples, 10);
  EXPECT_EQ(d.warmup_samples, 5);
  const nlohmann::json j = ScenarioToJson(*s)["drift"];
  EXPECT_EQ(j["kind"], "label_swap");
  EXPECT_EQ(j["detector"]["name"], "adwin");
  EXPECT_EQ(j["detector"]["clock"], 16);
  EXPECT_EQ(SelectDriftingDevices(d, 10, 1), (std::vector<bool>{0, 1, 0, 0, 1, 0, 0, 0, 0, 0}));
}

TEST(DriftScheduleTest, ProblemsAreAllReported) {
  auto s = Parse(R"(
[drift]
kind = "label_swap"
fraction = 0.5
devices = [1, 12]
start_round = 30
labels = [3, 3]
contrast = 2
magnitude = 1.5
[drift.detector]
name = "cusum"
threshold = 3
[drift.detector.page_hinkley]
thershold = 3
)");
  ASSERT_FALSE(s.ok());
  const std::string m(s.status().message());
  EXPECT_THAT(m, HasSubstr("devices"));            // 12 is outside the population
  EXPECT_THAT(m, HasSubstr("after the last round"));
  EXPECT_THAT(m, HasSubstr("two different labels"));
  EXPECT_THAT(m, HasSubstr("'contrast' is only read for brightness"));
  EXPECT_THAT(m, HasSubstr("share in [0, 1]"));
  EXPECT_THAT(m, HasSubstr("cusum"));
  EXPECT_THAT(m, HasSubstr("drift.detector.page_hinkley.thershold"));
  EXPECT_THAT(m, HasSubstr("'drift.detector.threshold' moved to 'drift.detector.page_hinkley.threshold'"));
}

TEST(DriftScheduleTest, KeysWithoutKindAreRefused) {
  auto s = Parse("[drift]\nfraction = 0.5\n");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("set 'kind'"));
  EXPECT_FALSE(Parse("[drift]\nkind = \"flood\"\n").ok());
}

TEST(DriftScheduleTest, ProgressIsAbruptOrLinear) {
  DriftSettings d;
  d.kind = DriftKind::kRotation;
  d.start_round = 5;
  EXPECT_EQ(DriftProgress(d, 4), 0);
  EXPECT_EQ(DriftProgress(d, 5), 1);
  d.ramp_rounds = 4;
  EXPECT_EQ(DriftProgress(d, 4), 0);
  EXPECT_DOUBLE_EQ(DriftProgress(d, 5), 0.25);
  EXPECT_DOUBLE_EQ(DriftProgress(d, 7), 0.75);
  EXPECT_EQ(DriftProgress(d, 8), 1);
  EXPECT_EQ(DriftProgress(d, 100), 1);
  EXPECT_DOUBLE_EQ(TransformAt(d, 0.5).magnitude, 45);  // default 90 degrees
}

TEST(DriftScheduleTest, FractionDrawsExactlyThatManyDevices) {
  DriftSettings d;
  d.kind = DriftKind::kNoise;
  d.fraction = 0.5;
  const std::vector<bool> a = SelectDriftingDevices(d, 20, 7);
  EXPECT_EQ(std::count(a.begin(), a.end(), true), 10);
  EXPECT_EQ(a, SelectDriftingDevices(d, 20, 7));
  EXPECT_NE(a, SelectDriftingDevices(d, 20, 8));
}

// A 4x4 image with a single bright pixel in the top-left corner.
std::vector<uint8_t> Corner() {
  std::vector<uint8_t> image(16, 0);
  image[0] = 200;
  return image;
}

TEST(DriftTransformTest, RotationBy90MovesTopLeftToBottomLeft) {
  std::vector<uint8_t> image(16);
  std::iota(image.begin(), image.end(), 1);  // row-major 1..16
  std::vector<uint8_t> out(16);
  RotateImage(image, 4, 4, 90, absl::MakeSpan(out));
  // Counter-clockwise: the top row becomes the left column, read bottom-up.
  EXPECT_EQ(out, (std::vector<uint8_t>{4, 8, 12, 16, 3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13}));
  std::vector<uint8_t> back(16), twice(16);
  RotateImage(out, 4, 4, -90, absl::MakeSpan(back));
  EXPECT_EQ(back, image);
  RotateImage(image, 4, 4, 0, absl::MakeSpan(twice));
  EXPECT_EQ(twice, image);
  std::vector<uint8_t> corner_out(16);
  RotateImage(Corner(), 4, 4, 90, absl::MakeSpan(corner_out));
  EXPECT_EQ(corner_out[12], 200);  // bottom-left
  EXPECT_EQ(std::accumulate(corner_out.begin(), corner_out.end(), 0), 200);
}

TEST(DriftTransformTest, BrightnessAndContrast) {
  std::vector<uint8_t> image = {0, 51, 128, 255};
  AdjustBrightness(absl::MakeSpan(image), 0.2, 1);
  EXPECT_EQ(image, (std::vector<uint8_t>{51, 102, 179, 255}));  // +0.2 · 255 = 51, clamped at 255
  std::vector<uint8_t> flat = {0, 255};
  AdjustBrightness(absl::MakeSpan(flat), 0, 0.5);  // halves the distance to mid-grey
  EXPECT_EQ(flat, (std::vector<uint8_t>{64, 191}));
}

TEST(DriftTransformTest, NoiseIsSeededAndHasTheRequestedSpread) {
  std::vector<uint8_t> a(10000, 128), b(10000, 128), c(10000, 128);
  AddSensorNoise(absl::MakeSpan(a), 0.1, 5);
  AddSensorNoise(absl::MakeSpan(b), 0.1, 5);
  AddSensorNoise(absl::MakeSpan(c), 0.1, 6);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double sum = 0, sq = 0;
  for (uint8_t p : a) sum += p / 255.0 - 128 / 255.0, sq += std::pow(p / 255.0 - 128 / 255.0, 2);
  EXPECT_NEAR(sum / a.size(), 0, 0.005);
  EXPECT_NEAR(std::sqrt(sq / a.size()), 0.1, 0.005);
}

TEST(DriftTransformTest, LabelSwapIsConceptDrift) {
  EXPECT_EQ(SwapLabel(3, 3, 5), 5);
  EXPECT_EQ(SwapLabel(5, 3, 5), 3);
  EXPECT_EQ(SwapLabel(4, 3, 5), 4);
  DriftSettings d;
  d.kind = DriftKind::kLabelSwap;
  d.labels = {3, 5};
  const DriftTransform full = TransformAt(d, 1);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_EQ(TransformLabel(full, 3, seed), 5);
    EXPECT_EQ(TransformLabel(full, 7, seed), 7);
    EXPECT_EQ(TransformLabel(TransformAt(d, 0), 3, seed), 3);
  }
  int swapped = 0;
  for (uint64_t seed = 0; seed < 4000; ++seed) swapped += TransformLabel(TransformAt(d, 0.25), 3, seed) == 5;
  EXPECT_NEAR(swapped / 4000.0, 0.25, 0.03);  // a ramp swaps a growing share
}

TEST(DriftTransformTest, LabelShiftFavoursTheListedClasses) {
  const std::vector<uint8_t> labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int64_t> pool(10);
  std::iota(pool.begin(), pool.end(), 0);
  DriftSettings d;
  d.kind = DriftKind::kLabelShift;
  d.labels = {2};
  d.magnitude = 0.8;
  SeededRandom rng(1);
  int favoured = 0;
  for (int i = 0; i < 5000; ++i) favoured += labels[DrawExample(TransformAt(d, 1), pool, labels, rng)] == 2;
  EXPECT_NEAR(favoured / 5000.0, 0.8 + 0.2 / 10, 0.03);
}

TEST(DriftTransformTest, DatasetTransformMatchesThePerImageOne) {
  ImageDataset data;
  data.num_examples = 2;
  data.rows = data.cols = 4;
  data.images = Corner();
  data.images.resize(32, 0);
  data.labels = {3, 1};
  DriftSettings d;
  d.kind = DriftKind::kRotation;
  const ImageDataset rotated = TransformDataset(TransformAt(d, 1), data, 10, 1);
  ASSERT_EQ(rotated.num_examples, 2);
  EXPECT_EQ(rotated.images[12], 200);
  EXPECT_EQ(rotated.labels, data.labels);
}

TEST(DriftReportTest, SummaryFiguresFromRows) {
  Scenario s;
  s.population.num_devices = 10;
  s.drift.kind = DriftKind::kRotation;
  s.drift.start_round = 3;
  std::vector<RoundRow> rows(8);
  const double acc[] = {0.5, 0.8, 0.3, 0.6, 0.78, 0.79, 0.8, 0.81};
  for (int i = 0; i < 8; ++i) {
    rows[i].round = i + 1;
    rows[i].test_accuracy = 0.8;
    rows[i].drifted_accuracy = acc[i];
    rows[i].drifted_devices = 5;
    rows[i].drift_detected = i + 1 >= 3 ? (i + 1 == 3 ? 3 : 5) : 0;
    rows[i].false_alarm_devices = i >= 6 ? 1 : 0;
  }
  const nlohmann::json j = DriftSummary(s, rows);
  EXPECT_EQ(j["onset_round"], 3);
  EXPECT_DOUBLE_EQ(j["detected_in_time_share"].get<double>(), 1.0);  // all 5 by round 4
  EXPECT_DOUBLE_EQ(j["undrifted_false_alarm_share"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(j["pre_drift_accuracy"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["min_drifted_accuracy"].get<double>(), 0.3);
  EXPECT_EQ(j["recovery_round"], 5);  // 78% >= 80% - 3 points
  EXPECT_EQ(j["rounds_to_recover"], 2);
  const std::string html = DriftHtml(s, rows);
  EXPECT_THAT(html, HasSubstr("drift onset"));
  EXPECT_THAT(html, HasSubstr("stroke-dasharray"));
  EXPECT_TRUE(DriftHtml(Scenario{}, rows).empty());
}

}  // namespace
}  // namespace fedge
