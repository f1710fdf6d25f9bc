#include "simulations/partition.h"

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

// Checks that no example is assigned twice and returns the total assigned.
size_t CheckDisjoint(const Partition& p, size_t num_examples) {
  std::vector<int> seen(num_examples, 0);
  size_t total = 0;
  for (const auto& shard : p) {
    EXPECT_TRUE(std::is_sorted(shard.begin(), shard.end()));
    for (int64_t i : shard) {
      EXPECT_GE(i, 0);
      EXPECT_LT(i, static_cast<int64_t>(num_examples));
      EXPECT_EQ(++seen[i], 1) << "example " << i << " assigned twice";
    }
    total += shard.size();
  }
  return total;
}

// Mean over devices of the share of a device's examples in its largest class.
double MeanTopClassShare(const Partition& p, const std::vector<uint8_t>& labels) {
  double sum = 0;
  int n = 0;
  for (const auto& counts : LabelCounts(p, labels, 10)) {
    const int64_t total = std::accumulate(counts.begin(), counts.end(), int64_t{0});
    if (total == 0) continue;
    sum += static_cast<double>(*std::max_element(counts.begin(), counts.end())) / total;
    ++n;
  }
  return sum / n;
}

TEST(PartitionTest, IidSplitsEverythingEvenly) {
  const auto labels = BalancedLabels(1003);
  auto p = PartitionData(labels, {.method = "iid", .num_devices = 10, .seed = 3});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(CheckDisjoint(*p, labels.size()), labels.size());
  for (const auto& shard : *p) EXPECT_THAT(shard.size(), ::testing::AnyOf(100u, 101u));
  EXPECT_LT(MeanTopClassShare(*p, labels), 0.2);
}

TEST(PartitionTest, DirichletSkewFollowsAlpha) {
  const auto labels = BalancedLabels(5000);
  auto skewed = PartitionData(labels, {.method = "dirichlet", .num_devices = 20, .alpha = 0.1, .seed = 1});
  auto uniform = PartitionData(labels, {.method = "dirichlet", .num_devices = 20, .alpha = 1000, .seed = 1});
  ASSERT_TRUE(skewed.ok() && uniform.ok());
  EXPECT_EQ(CheckDisjoint(*skewed, labels.size()), labels.size());
  EXPECT_EQ(CheckDisjoint(*uniform, labels.size()), labels.size());
  // alpha = 0.1: a typical device is dominated by one class.
  EXPECT_GT(MeanTopClassShare(*skewed, labels), 0.6);
  // alpha = 1000: every device is close to the uniform 10% per class.
  EXPECT_LT(MeanTopClassShare(*uniform, labels), 0.16);
  for (const auto& counts : LabelCounts(*uniform, labels, 10)) {
    for (int64_t c : counts) EXPECT_NEAR(c, 25, 12);
  }
}

TEST(PartitionTest, ClassesPerDeviceGivesExactlyKClasses) {
  const auto labels = BalancedLabels(3000);
  auto p = PartitionData(labels, {.method = "classes", .num_devices = 20, .classes_per_device = 2, .seed = 5});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(CheckDisjoint(*p, labels.size()), labels.size());  // 20 devices x 2 cover every class
  for (const auto& counts : LabelCounts(*p, labels, 10)) {
    EXPECT_EQ(std::count_if(counts.begin(), counts.end(), [](int64_t c) { return c > 0; }), 2);
  }
}

TEST(PartitionTest, DeterministicFromTheSeedAndCapped) {
  const auto labels = BalancedLabels(2000);
  for (const char* method : {"iid", "dirichlet", "classes"}) {
    PartitionOptions o{.method = method, .num_devices = 7, .alpha = 0.5, .max_examples_per_device = 50, .seed = 9};
    auto a = PartitionData(labels, o);
    auto b = PartitionData(labels, o);
    ASSERT_TRUE(a.ok() && b.ok()) << method;
    EXPECT_EQ(*a, *b) << method;
    for (const auto& shard : *a) EXPECT_LE(shard.size(), 50u) << method;
    CheckDisjoint(*a, labels.size());
    o.seed = 10;
    EXPECT_NE(*PartitionData(labels, o), *a) << method;
  }
}

TEST(PartitionTest, RefusesBadOptions) {
  const auto labels = BalancedLabels(100);
  EXPECT_EQ(PartitionData(labels, {.method = "zipf"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionData(labels, {.num_devices = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionData(labels, {.method = "dirichlet", .alpha = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionData(labels, {.method = "classes", .classes_per_device = 11}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionData({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedge
