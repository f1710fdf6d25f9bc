#include "secagg/shamir.h"

#include <numeric>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "secagg/random.h"

namespace fedge::secagg {
namespace {

std::string Secret(size_t n, uint8_t start) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(start + 37 * i);
  return s;
}

TEST(ShamirTest, AnyThresholdSubsetReconstructs) {
  SeededDrbg random(7);
  const std::vector<uint32_t> holders = {3, 9, 10, 11, 40, 41, 99};
  for (size_t bytes : {1, 7, 8, 16, 32}) {
    const std::string secret = Secret(bytes, static_cast<uint8_t>(bytes));
    auto shares = ShamirSplit(secret, 4, holders, random);
    ASSERT_TRUE(shares.ok()) << shares.status();
    ASSERT_EQ(shares->size(), holders.size());
    EXPECT_EQ((*shares)[0].values.size(), ElementsFor(bytes));
    for (size_t first = 0; first + 4 <= holders.size(); ++first) {
      std::vector<ShamirShare> subset(shares->begin() + first, shares->begin() + first + 4);
      auto got = ShamirReconstruct(subset, 4, bytes);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, secret);
    }
    auto all = ShamirReconstruct(*shares, 4, bytes);  // extra shares are checked, not needed
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(*all, secret);
  }
}

TEST(ShamirTest, FewerThanThresholdRevealNothingUseful) {
  SeededDrbg random(8);
  const std::vector<uint32_t> holders = {0, 1, 2, 3, 4};
  auto shares = ShamirSplit(Secret(16, 1), 3, holders, random);
  ASSERT_TRUE(shares.ok());
  std::vector<ShamirShare> two(shares->begin(), shares->begin() + 2);
  EXPECT_EQ(ShamirReconstruct(two, 3, 16).status().code(), absl::StatusCode::kFailedPrecondition);
  // Reconstructing a threshold-3 secret as if it were threshold 2 gives garbage
  // (or a range error), never the secret.
  auto wrong = ShamirReconstruct(two, 2, 16);
  EXPECT_TRUE(!wrong.ok() || *wrong != Secret(16, 1));
}

TEST(ShamirTest, CorruptedOrMalformedSharesAreRejected) {
  SeededDrbg random(9);
  const std::vector<uint32_t> holders = {0, 1, 2, 3, 4};
  auto shares = ShamirSplit(Secret(32, 5), 3, holders, random);
  ASSERT_TRUE(shares.ok());
  std::vector<ShamirShare> bad = *shares;
  bad[4].values[2] = (bad[4].values[2] + 1) % kFieldPrime;
  EXPECT_EQ(ShamirReconstruct(bad, 3, 32).status().code(), absl::StatusCode::kDataLoss);
  bad = *shares;
  bad[1].x = bad[0].x;
  EXPECT_EQ(ShamirReconstruct(bad, 3, 32).status().code(), absl::StatusCode::kInvalidArgument);
  bad = *shares;
  bad[0].values.pop_back();
  EXPECT_EQ(ShamirReconstruct(bad, 3, 32).status().code(), absl::StatusCode::kInvalidArgument);
  bad = *shares;
  bad[0].values[0] = kFieldPrime;
  EXPECT_EQ(ShamirReconstruct(bad, 3, 32).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ShamirSplit("", 1, holders, random).ok());
  EXPECT_FALSE(ShamirSplit("x", 6, holders, random).ok());
  EXPECT_FALSE(ShamirSplit("x", 0, holders, random).ok());
}

}  // namespace
}  // namespace fedge::secagg
