#include "simulations/sample_partition.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

std::vector<uint8_t> BalancedLabels(int n, int classes = 10) {
  std::vector<uint8_t> labels(n);
  for (int i = 0; i < n; ++i) labels[i] = static_cast<uint8_t>((i * 7 + i / 13) % classes);
  return labels;
}

SamplePartition Make(const std::vector<uint8_t>& labels, SampleOptions options) {
  absl::StatusOr<SamplePartition> p = SamplePartition::Create(labels, options);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

// Mean over devices of the share of a device's examples in its largest class.
double MeanTopClassShare(const SamplePartition& p, const std::vector<uint8_t>& labels, int devices) {
  double sum = 0;
  for (int d = 0; d < devices; ++d) {
    std::vector<int> counts(10, 0);
    const std::vector<int64_t> shard = p.Shard(d);
    for (int64_t i : shard) ++counts[labels[i]];
    sum += static_cast<double>(*std::max_element(counts.begin(), counts.end())) / shard.size();
  }
  return sum / devices;
}

TEST(SamplePartitionTest, MoreDevicesThanExamplesAllHoldData) {
  const auto labels = BalancedLabels(500);
  const SamplePartition p = Make(labels, {.size = {.mean = 20, .sigma = 0.5}, .min_examples = 3, .max_examples = 40});
  for (int64_t d = 0; d < 5000; ++d) {
    const std::vector<int64_t> shard = p.Shard(d);
    ASSERT_FALSE(shard.empty()) << "device " << d;
    ASSERT_EQ(static_cast<int64_t>(shard.size()), p.ShardSize(d));
    ASSERT_TRUE(std::is_sorted(shard.begin(), shard.end()));
    for (int64_t i : shard) ASSERT_TRUE(i >= 0 && i < 500);
  }
}

TEST(SamplePartitionTest, DrawsWithReplacement) {
  const auto labels = BalancedLabels(100);
  const SamplePartition p = Make(labels, {.size = {.mean = 80, .sigma = 0}, .max_examples = 1000});
  // 80 draws from 100 examples: repeats within a device are all but certain,
  // and devices overlap.
  const std::vector<int64_t> a = p.Shard(0), b = p.Shard(1);
  EXPECT_LT(std::set<int64_t>(a.begin(), a.end()).size(), a.size());
  std::vector<int64_t> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  EXPECT_FALSE(common.empty());
}

TEST(SamplePartitionTest, RegeneratedShardIsIdentical) {
  const auto labels = BalancedLabels(2000);
  const SampleOptions options{.alpha = 0.3, .style = {.rotation_deg = 15, .brightness = 0.1, .noise = 0.05},
                              .seed = 42};
  const SamplePartition p = Make(labels, options);
  const SamplePartition again = Make(labels, options);  // a second process would build this
  for (int64_t d : {0, 1, 999, 99999}) {
    EXPECT_EQ(p.Shard(d), p.Shard(d));
    EXPECT_EQ(p.Shard(d), again.Shard(d));
    EXPECT_EQ(p.Style(d).rotation_deg, again.Style(d).rotation_deg);
    EXPECT_EQ(p.Style(d).noise_seed, again.Style(d).noise_seed);
  }
  const SamplePartition other = Make(labels, {.alpha = 0.3, .seed = 43});
  EXPECT_NE(p.Shard(0), other.Shard(0));
  EXPECT_NE(p.Shard(0), p.Shard(1));
}

TEST(SamplePartitionTest, LabelMixFollowsAlpha) {
  const auto labels = BalancedLabels(5000);
  const SamplePartition skewed = Make(labels, {.alpha = 0.1, .size = {.mean = 200, .sigma = 0}, .seed = 1});
  const SamplePartition uniform = Make(labels, {.alpha = 1000, .size = {.mean = 200, .sigma = 0}, .seed = 1});
  // Dir(0.1) over 10 classes puts most of a device's mass on one or two
  // classes; Dir(1000) is close to the uniform 10%.
  EXPECT_GT(MeanTopClassShare(skewed, labels, 200), 0.6);
  EXPECT_LT(MeanTopClassShare(uniform, labels, 200), 0.2);
}

TEST(SamplePartitionTest, SizesFollowTheLogNormalWithinClamps) {
  const auto labels = BalancedLabels(1000);
  const SamplePartition p = Make(labels, {.size = {.mean = 50, .sigma = 1.0}, .min_examples = 10, .max_examples = 150});
  int64_t at_min = 0, at_max = 0;
  double sum = 0;
  const int devices = 4000;
  for (int d = 0; d < devices; ++d) {
    const int64_t n = p.ShardSize(d);
    ASSERT_GE(n, 10);
    ASSERT_LE(n, 150);
    at_min += n == 10;
    at_max += n == 150;
    sum += static_cast<double>(n);
  }
  // sigma = 1 reaches both clamps; the clamped mean stays near 50 (~45 here).
  EXPECT_GT(at_min, 0);
  EXPECT_GT(at_max, 0);
  EXPECT_NEAR(sum / devices, 45, 8);
  const SamplePartition fixed = Make(labels, {.size = {.mean = 33, .sigma = 0}});
  EXPECT_EQ(fixed.ShardSize(7), 33);
}

TEST(SamplePartitionTest, StylesStayWithinBounds) {
  const auto labels = BalancedLabels(100);
  const SamplePartition none = Make(labels, {});
  EXPECT_TRUE(none.Style(3).identity());
  const SamplePartition p = Make(labels, {.style = {.rotation_deg = 10, .brightness = 0.2, .noise = 0.05}});
  bool negative_rotation = false, positive_rotation = false;
  for (int d = 0; d < 200; ++d) {
    const DeviceStyle s = p.Style(d);
    ASSERT_LE(std::abs(s.rotation_deg), 10);
    ASSERT_LE(std::abs(s.brightness), 0.2);
    ASSERT_TRUE(s.noise_std >= 0 && s.noise_std <= 0.05);
    negative_rotation |= s.rotation_deg < 0;
    positive_rotation |= s.rotation_deg > 0;
  }
  EXPECT_TRUE(negative_rotation && positive_rotation);
}

TEST(SamplePartitionTest, StyledShardTransformsImagesKeepsLabels) {
  ImageDataset data;
  data.num_examples = 3;
  data.rows = data.cols = 4;
  data.images.resize(3 * 16);
  for (size_t i = 0; i < data.images.size(); ++i) data.images[i] = static_cast<uint8_t>(i * 5);
  data.labels = {7, 2, 9};
  const std::vector<int64_t> indices = {0, 2, 2};
  const ImageDataset plain = StyledShard(data, indices, DeviceStyle{});
  EXPECT_EQ(plain.num_examples, 3);
  EXPECT_THAT(plain.labels, ::testing::ElementsAre(7, 9, 9));
  EXPECT_TRUE(std::equal(plain.images.begin(), plain.images.begin() + 16, data.images.begin()));
  const DeviceStyle style{.rotation_deg = 0, .brightness = 0.2, .noise_std = 0.02, .noise_seed = 5};
  const ImageDataset styled = StyledShard(data, indices, style);
  EXPECT_THAT(styled.labels, ::testing::ElementsAre(7, 9, 9));
  EXPECT_NE(styled.images, plain.images);
  EXPECT_EQ(styled.images, StyledShard(data, indices, style).images);  // deterministic
}

TEST(SamplePartitionTest, StateDoesNotGrowWithThePopulation) {
  const auto labels = BalancedLabels(60000);
  const SamplePartition p = Make(labels, {});
  // The shared class index only: 4 bytes per example, plus small change.
  EXPECT_LT(p.MemoryBytes(), 60000 * 4 + 4096);
  (void)p.Shard(1000000);  // any device index works without growing it
  EXPECT_LT(p.MemoryBytes(), 60000 * 4 + 4096);
}

TEST(SamplePartitionTest, RefusesBadOptions) {
  const auto labels = BalancedLabels(100);
  EXPECT_FALSE(SamplePartition::Create({}, {}).ok());
  EXPECT_FALSE(SamplePartition::Create(labels, {.alpha = 0}).ok());
  EXPECT_FALSE(SamplePartition::Create(labels, {.min_examples = 0}).ok());
  EXPECT_FALSE(SamplePartition::Create(labels, {.min_examples = 10, .max_examples = 5}).ok());
  EXPECT_FALSE(SamplePartition::Create(labels, {.style = {.noise = -1}}).ok());
}

}  // namespace
}  // namespace fedge
