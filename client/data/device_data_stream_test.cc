#include "client/data/device_data_stream.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

DeviceDataStreamOptions SmallOptions() {
  DeviceDataStreamOptions options;
  options.preprocess.dim = 4;
  options.store.dim = 4;
  options.store.window_capacity = 20;
  options.store.reservoir_capacity = 10;
  options.recent_fraction = 0.5;
  return options;
}

std::unique_ptr<DeviceDataStream> Make(const DeviceDataStreamOptions& options) {
  auto stream = DeviceDataStream::Create(options, SeededRandom(17));
  EXPECT_TRUE(stream.ok()) << stream.status();
  return *std::move(stream);
}

TEST(DeviceDataStreamTest, ValidatesOptions) {
  DeviceDataStreamOptions options = SmallOptions();
  EXPECT_TRUE(ValidateDeviceDataStreamOptions(options).ok());
  options.store.dim = 5;
  EXPECT_THAT(DeviceDataStream::Create(options, SeededRandom(1)).status().message(), HasSubstr("store.dim"));
  options = SmallOptions();
  options.recent_fraction = -0.1;
  EXPECT_THAT(ValidateDeviceDataStreamOptions(options).message(), HasSubstr("recent_fraction"));
  options = SmallOptions();
  options.drift_recent_fraction = 2;
  EXPECT_THAT(ValidateDeviceDataStreamOptions(options).message(), HasSubstr("drift_recent_fraction"));
  options = SmallOptions();
  options.drift_hold_examples = -1;
  EXPECT_THAT(ValidateDeviceDataStreamOptions(options).message(), HasSubstr("drift_hold_examples"));
  options = SmallOptions();
  options.preprocess.min_std = 0;
  EXPECT_THAT(ValidateDeviceDataStreamOptions(options).message(), HasSubstr("min_std"));
}

TEST(DeviceDataStreamTest, StoresAcceptedExamplesAndCountsEverything) {
  auto stream = Make(SmallOptions());
  const std::vector<uint8_t> good = {10, 20, 30, 40};
  const std::vector<uint8_t> wrong_size = {1, 2, 3};
  const std::vector<float> repaired = {std::numeric_limits<float>::quiet_NaN(), 0.5f, 0.5f, 0.5f};
  EXPECT_TRUE(stream->Ingest(RawExample::Bytes(good, 1, absl::FromUnixSeconds(5))).ok());
  EXPECT_TRUE(stream->Ingest(RawExample::Floats(repaired, 2)).ok());
  EXPECT_EQ(stream->Ingest(RawExample::Bytes(wrong_size, 1)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stream->Ingest(RawExample::Bytes(good, 42)).code(), absl::StatusCode::kInvalidArgument);

  const DeviceDataStats stats = stream->stats();
  EXPECT_EQ(stats.preprocess.examples_seen, 4);
  EXPECT_EQ(stats.preprocess.accepted, 2);
  EXPECT_EQ(stats.preprocess.repaired_examples, 1);
  EXPECT_EQ(stats.preprocess.rejected_wrong_dimension, 1);
  EXPECT_EQ(stats.preprocess.rejected_bad_label, 1);
  EXPECT_EQ(stats.stored, 2u);
  EXPECT_EQ(stats.window_size, 2);
  EXPECT_EQ(stream->store().WindowAt(0).arrival_time, absl::FromUnixSeconds(5));
  EXPECT_EQ(stream->store().WindowAt(0).label, 1);
}

TEST(DeviceDataStreamTest, TrainingSetHoldsNormalisedLabelledExamples) {
  auto stream = Make(SmallOptions());
  const std::vector<uint8_t> pixels = {0, 64, 128, 255};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(stream->Ingest(RawExample::Bytes(pixels, i % 10)).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(stream->Ingest(RawExample::Bytes(pixels)).ok());  // unlabelled
  SeededRandom rng(3);
  auto batch = stream->TrainingSet(16, rng);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->size(), 16);
  EXPECT_EQ(batch->dim, 4);
  EXPECT_EQ(batch->num_recent, 8);
  EXPECT_EQ(batch->num_replay, 8);
  EXPECT_THAT(batch->labels, ::testing::Each(::testing::AllOf(::testing::Ge(0), ::testing::Lt(10))));
  // Normalised pixels: 0 maps below zero, 255 above.
  EXPECT_LT(batch->example(0)[0], 0.0f);
  EXPECT_GT(batch->example(0)[3], 0.0f);
  EXPECT_EQ(stream->TrainingSet(-1, rng).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DeviceDataStreamTest, DriftPrioritisesRecentDataForOneWindow) {
  DeviceDataStreamOptions options = SmallOptions();
  auto stream = Make(options);
  const std::vector<float> values(4, 0.5f);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(stream->Ingest(RawExample::Floats(values, 1)).ok());
  SeededRandom rng(8);
  EXPECT_FALSE(stream->prioritising_recent());
  EXPECT_EQ(stream->current_recent_fraction(), 0.5);

  stream->NotifyDrift();
  EXPECT_TRUE(stream->prioritising_recent());
  EXPECT_EQ(stream->current_recent_fraction(), 1.0);
  auto batch = stream->TrainingSet(10, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->num_recent, 10);
  EXPECT_EQ(batch->num_replay, 0);

  // Rejected examples do not count towards the hold; stored ones do.
  const std::vector<float> wrong(3, 0.5f);
  for (int i = 0; i < 30; ++i) EXPECT_FALSE(stream->Ingest(RawExample::Floats(wrong, 1)).ok());
  EXPECT_TRUE(stream->prioritising_recent());
  for (int i = 0; i < options.store.window_capacity - 1; ++i) {
    ASSERT_TRUE(stream->Ingest(RawExample::Floats(values, 1)).ok());
  }
  EXPECT_TRUE(stream->prioritising_recent());
  ASSERT_TRUE(stream->Ingest(RawExample::Floats(values, 1)).ok());
  EXPECT_FALSE(stream->prioritising_recent());
  batch = stream->TrainingSet(10, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->num_replay, 5);
}

TEST(DeviceDataStreamTest, FreezeReachesThePreprocessor) {
  auto stream = Make(SmallOptions());
  stream->FreezeStatistics();
  const std::vector<float> values(4, 0.9f);
  ASSERT_TRUE(stream->Ingest(RawExample::Floats(values, 1)).ok());
  EXPECT_EQ(stream->preprocessor().observed_count(), 0.0);
  stream->UnfreezeStatistics();
  ASSERT_TRUE(stream->Ingest(RawExample::Floats(values, 1)).ok());
  EXPECT_EQ(stream->preprocessor().observed_count(), 4.0);
}

TEST(DeviceDataStreamTest, MemoryStaysBoundedUnderALongStream) {
  auto stream = Make(SmallOptions());
  SeededRandom rng(99);
  std::vector<uint8_t> pixels(4);
  for (int i = 0; i < 5000; ++i) {
    for (uint8_t& p : pixels) p = static_cast<uint8_t>(rng());
    (void)stream->Ingest(RawExample::Bytes(pixels, static_cast<int64_t>(rng() % 12)));  // some bad labels
    ASSERT_LE(stream->store().size(), 30);
  }
  const DeviceDataStats stats = stream->stats();
  EXPECT_EQ(stats.preprocess.accepted + stats.preprocess.rejected(), 5000);
  EXPECT_EQ(stats.stored, static_cast<uint64_t>(stats.preprocess.accepted));
  EXPECT_EQ(stats.window_size, 20);
  EXPECT_EQ(stats.reservoir_size, 10);
}

}  // namespace
}  // namespace fedge
