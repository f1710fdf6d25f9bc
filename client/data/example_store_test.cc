#include "client/data/example_store.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

ExampleStore MakeStore(int64_t dim, int64_t window, int64_t reservoir, uint64_t seed = 1) {
  ExampleStoreOptions options;
  options.dim = dim;
  options.window_capacity = window;
  options.reservoir_capacity = reservoir;
  auto store = ExampleStore::Create(options, SeededRandom(seed));
  EXPECT_TRUE(store.ok()) << store.status();
  return *std::move(store);
}

// Adds `count` examples whose features are all equal to their sequence
// number, labelled sequence % 10 (or unlabelled when `labelled` is false).
void AddSequence(ExampleStore& store, int count, bool labelled = true) {
  std::vector<float> features(static_cast<size_t>(store.options().dim));
  for (int i = 0; i < count; ++i) {
    const float value = static_cast<float>(store.added_total());
    std::fill(features.begin(), features.end(), value);
    std::optional<int32_t> label;
    if (labelled) label = static_cast<int32_t>(store.added_total() % 10);
    ASSERT_TRUE(store.Add(features, label, absl::FromUnixSeconds(static_cast<int64_t>(store.added_total()))).ok());
  }
}

TEST(ExampleStoreOptionsTest, RejectsInvalidOptions) {
  ExampleStoreOptions options;
  EXPECT_TRUE(ValidateExampleStoreOptions(options).ok());
  options.dim = 0;
  EXPECT_THAT(ValidateExampleStoreOptions(options).message(), HasSubstr("dim"));
  options = {};
  options.window_capacity = 0;
  EXPECT_THAT(ValidateExampleStoreOptions(options).message(), HasSubstr("window_capacity"));
  options = {};
  options.reservoir_capacity = -1;
  EXPECT_THAT(ValidateExampleStoreOptions(options).message(), HasSubstr("reservoir_capacity"));
  options = {};
  options.window_capacity = int64_t{1} << 40;
  EXPECT_EQ(ValidateExampleStoreOptions(options).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ExampleStore::Create(options, SeededRandom(1)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ExampleStoreTest, WindowKeepsMostRecentInArrivalOrder) {
  ExampleStore store = MakeStore(/*dim=*/2, /*window=*/4, /*reservoir=*/0);
  AddSequence(store, 3);
  ASSERT_EQ(store.window_size(), 3);
  EXPECT_EQ(store.evicted_total(), 0u);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(store.WindowAt(i).sequence, static_cast<uint64_t>(i));

  AddSequence(store, 7);
  ASSERT_EQ(store.window_size(), 4);
  EXPECT_EQ(store.reservoir_size(), 0);
  EXPECT_EQ(store.evicted_total(), 6u);
  for (int64_t i = 0; i < 4; ++i) {
    const ExampleRef ref = store.WindowAt(i);
    EXPECT_EQ(ref.sequence, static_cast<uint64_t>(6 + i));
    EXPECT_THAT(ref.features, ::testing::Each(static_cast<float>(6 + i)));
    EXPECT_EQ(ref.label, static_cast<int32_t>((6 + i) % 10));
    EXPECT_EQ(ref.arrival_time, absl::FromUnixSeconds(6 + i));
  }
}

TEST(ExampleStoreTest, ReservoirFirstTakesEvictedExamplesInOrder) {
  ExampleStore store = MakeStore(1, 2, 3);
  AddSequence(store, 5);  // evicts 0, 1, 2
  ASSERT_EQ(store.reservoir_size(), 3);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(store.ReservoirAt(i).sequence, static_cast<uint64_t>(i));
  EXPECT_EQ(store.WindowAt(0).sequence, 3u);
  EXPECT_EQ(store.WindowAt(1).sequence, 4u);
}

TEST(ExampleStoreTest, UnlabelledExamplesKeepNoLabel) {
  ExampleStore store = MakeStore(1, 2, 0);
  AddSequence(store, 1, /*labelled=*/false);
  EXPECT_FALSE(store.WindowAt(0).label.has_value());
}

// Algorithm R: after n evictions each evicted example is in the reservoir
// with probability k/n. Over 2000 seeded runs the inclusion frequency of
// each of the 100 evicted examples has standard deviation
// sqrt(0.1 · 0.9 / 2000) ≈ 0.0067; 0.035 is over 5 sigma.
TEST(ExampleStoreTest, ReservoirIsAUniformSampleOfEvictedExamples) {
  constexpr int kWindow = 5, kReservoir = 10, kEvicted = 100, kRuns = 2000;
  std::vector<int> included(kEvicted, 0);
  for (int run = 0; run < kRuns; ++run) {
    ExampleStore store = MakeStore(1, kWindow, kReservoir, DeriveSeed(42, static_cast<uint64_t>(run)));
    AddSequence(store, kEvicted + kWindow);
    ASSERT_EQ(store.reservoir_size(), kReservoir);
    std::set<uint64_t> distinct;
    for (int64_t i = 0; i < kReservoir; ++i) {
      const uint64_t seq = store.ReservoirAt(i).sequence;
      ASSERT_LT(seq, static_cast<uint64_t>(kEvicted)) << "a window example is in the reservoir";
      EXPECT_EQ(store.ReservoirAt(i).features[0], static_cast<float>(seq));
      distinct.insert(seq);
      ++included[seq];
    }
    ASSERT_EQ(distinct.size(), static_cast<size_t>(kReservoir));
  }
  const double expected = static_cast<double>(kReservoir) / kEvicted;
  double chi2 = 0;
  for (int seq = 0; seq < kEvicted; ++seq) {
    const double freq = static_cast<double>(included[seq]) / kRuns;
    EXPECT_NEAR(freq, expected, 0.035) << "example " << seq;
    const double e = expected * kRuns;
    chi2 += (included[seq] - e) * (included[seq] - e) / (e * (1 - expected));
  }
  // 99 degrees of freedom: the 99.99th percentile is about 160.
  EXPECT_LT(chi2, 160.0);
  // Early and late evictions are equally likely (no recency bias).
  int early = 0, late = 0;
  for (int seq = 0; seq < 50; ++seq) early += included[seq];
  for (int seq = 50; seq < kEvicted; ++seq) late += included[seq];
  EXPECT_NEAR(static_cast<double>(early) / late, 1.0, 0.05);
}

TEST(ExampleStoreTest, MemoryIsBoundedAndFixedAtCreation) {
  constexpr int64_t kDim = 3, kWindow = 16, kReservoir = 8;
  ExampleStore store = MakeStore(kDim, kWindow, kReservoir);
  const size_t bytes = store.memory_bytes();
  EXPECT_EQ(bytes, (kWindow + kReservoir) * (kDim * sizeof(float) + ExampleStore::kSlotOverheadBytes));
  for (int i = 0; i < 1000; ++i) {
    AddSequence(store, 1);
    ASSERT_LE(store.size(), kWindow + kReservoir);
    ASSERT_EQ(store.memory_bytes(), bytes);
  }
  EXPECT_EQ(store.window_size(), kWindow);
  EXPECT_EQ(store.reservoir_size(), kReservoir);
  EXPECT_EQ(store.added_total(), 1000u);
  EXPECT_EQ(store.evicted_total(), 1000u - kWindow);
}

TEST(ExampleStoreTest, AddRejectsWrongDimensionAndNegativeLabel) {
  ExampleStore store = MakeStore(3, 4, 2);
  std::vector<float> short_features(2, 0.0f), features(3, 0.0f);
  EXPECT_THAT(store.Add(short_features, 1, absl::UnixEpoch()).message(), HasSubstr("expected dim = 3"));
  EXPECT_EQ(store.Add(features, -2, absl::UnixEpoch()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.size(), 0);
}

TEST(ExampleStoreTest, SampleMixesWindowAndReservoir) {
  ExampleStore store = MakeStore(2, 100, 50);
  AddSequence(store, 1000);  // window: 900..999, reservoir: 50 of 0..899
  SeededRandom rng(7);
  auto count_recent = [](const ExampleBatch& batch) {
    int recent = 0;
    for (uint64_t seq : batch.sequences) recent += seq >= 900 ? 1 : 0;
    return recent;
  };

  SamplePolicy policy{.max_examples = 40, .recent_fraction = 0.75, .labelled_only = true};
  auto batch = store.Sample(policy, rng);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 40);
  EXPECT_EQ(batch->num_recent, 30);
  EXPECT_EQ(batch->num_replay, 10);
  EXPECT_EQ(count_recent(*batch), 30);
  EXPECT_EQ(std::set<uint64_t>(batch->sequences.begin(), batch->sequences.end()).size(), 40u);
  for (int64_t i = 0; i < batch->size(); ++i) {
    EXPECT_THAT(batch->example(i), ::testing::Each(static_cast<float>(batch->sequences[i])));
    EXPECT_EQ(batch->labels[i], static_cast<int32_t>(batch->sequences[i] % 10));
  }

  policy.recent_fraction = 1.0;
  batch = store.Sample(policy, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(count_recent(*batch), 40);

  policy.recent_fraction = 0.0;
  batch = store.Sample(policy, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(count_recent(*batch), 0);

  // The reservoir holds only 50: the window fills the gap.
  policy.max_examples = 80;
  batch = store.Sample(policy, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->num_replay, 50);
  EXPECT_EQ(batch->num_recent, 30);

  // Asking for more than the store holds returns everything once.
  policy.max_examples = 1000;
  batch = store.Sample(policy, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 150);
  EXPECT_EQ(std::set<uint64_t>(batch->sequences.begin(), batch->sequences.end()).size(), 150u);
}

TEST(ExampleStoreTest, SampleInterleavesPools) {
  ExampleStore store = MakeStore(1, 100, 100);
  AddSequence(store, 300);
  SeededRandom rng(3);
  auto batch = store.Sample({.max_examples = 100, .recent_fraction = 0.5, .labelled_only = true}, rng);
  ASSERT_TRUE(batch.ok());
  int recent_in_first_half = 0;
  for (int i = 0; i < 50; ++i) recent_in_first_half += batch->sequences[i] >= 200 ? 1 : 0;
  EXPECT_GT(recent_in_first_half, 10);
  EXPECT_LT(recent_in_first_half, 40);
}

TEST(ExampleStoreTest, SampleIsDeterministicForASeed) {
  ExampleStore store = MakeStore(1, 20, 10);
  AddSequence(store, 100);
  SeededRandom a(11), b(11);
  const SamplePolicy policy{.max_examples = 15, .recent_fraction = 0.6, .labelled_only = true};
  auto first = store.Sample(policy, a);
  auto second = store.Sample(policy, b);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->sequences, second->sequences);
}

TEST(ExampleStoreTest, LabelledOnlySkipsUnlabelledExamples) {
  ExampleStore store = MakeStore(1, 10, 0);
  AddSequence(store, 4, /*labelled=*/true);
  AddSequence(store, 6, /*labelled=*/false);
  SeededRandom rng(5);
  auto batch = store.Sample({.max_examples = 10, .recent_fraction = 1.0, .labelled_only = true}, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 4);
  EXPECT_THAT(batch->labels, ::testing::Each(::testing::Ge(0)));
  batch = store.Sample({.max_examples = 10, .recent_fraction = 1.0, .labelled_only = false}, rng);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), 10);
  EXPECT_EQ(std::count(batch->labels.begin(), batch->labels.end(), ExampleStore::kNoLabel), 6);
}

TEST(ExampleStoreTest, SampleValidatesPolicyAndHandlesEmptyStore) {
  ExampleStore store = MakeStore(1, 4, 4);
  SeededRandom rng(1);
  auto empty = store.Sample({}, rng);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0);
  EXPECT_THAT(store.Sample({.max_examples = 1, .recent_fraction = 1.5}, rng).status().message(),
              HasSubstr("recent_fraction"));
  EXPECT_EQ(store.Sample({.max_examples = 1, .recent_fraction = std::nan("")}, rng).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.Sample({.max_examples = -1}, rng).status().message(), HasSubstr("max_examples"));
}

}  // namespace
}  // namespace fedge
