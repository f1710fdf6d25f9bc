#include "secagg/ring_codes.h"

#include <random>

#include "gtest/gtest.h"

namespace fedge::secagg {
namespace {

TEST(RingCodesTest, RingBitsCoverTheSumOfNCodes) {
  EXPECT_EQ(*RingBitsFor(8, 1), 8);
  EXPECT_EQ(*RingBitsFor(8, 2), 9);
  EXPECT_EQ(*RingBitsFor(8, 100), 15);
  EXPECT_EQ(*RingBitsFor(8, 128), 15);
  EXPECT_EQ(*RingBitsFor(8, 129), 16);
  EXPECT_EQ(*RingBitsFor(4, 100), 11);
  EXPECT_FALSE(RingBitsFor(1, 10).ok());
  EXPECT_FALSE(RingBitsFor(8, 0).ok());
}

TEST(RingCodesTest, SumOfExtremeCodesRoundTrips) {
  for (int bits : {4, 8}) {
    const int8_t top = static_cast<int8_t>((1 << (bits - 1)) - 1);
    const uint32_t n = 100;
    const int ring_bits = *RingBitsFor(bits, n);
    const uint64_t mask = (uint64_t{1} << ring_bits) - 1;
    for (int8_t code : {top, static_cast<int8_t>(-top), int8_t{0}}) {
      auto ring = CodesToRing({code}, bits);
      ASSERT_TRUE(ring.ok());
      const uint64_t sum = ((*ring)[0] * n) & mask;  // no wrap-around by construction
      auto back = RingSumToCodeSum({sum}, bits, n);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ((*back)[0], int64_t{code} * n);
    }
  }
}

TEST(RingCodesTest, OutOfRangeCodesAndSumsAreRejected) {
  EXPECT_FALSE(CodesToRing({int8_t{-128}}, 8).ok());
  EXPECT_FALSE(CodesToRing({int8_t{8}}, 4).ok());
  EXPECT_FALSE(RingSumToCodeSum({uint64_t{255} * 3 + 1}, 8, 3).ok());
  EXPECT_FALSE(RingSumToCodeSum({uint64_t{2}}, 8, 3).ok());
}

}  // namespace
}  // namespace fedge::secagg
