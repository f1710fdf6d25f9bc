#include "secagg/graph.h"

#include "gtest/gtest.h"

namespace fedge::secagg {
namespace {

SecAggParams Params(uint32_t n, uint32_t k, uint64_t seed) {
  return SecAggParams{.round_id = 3, .num_clients = n, .neighbours = k, .threshold = 2, .vector_length = 1,
                      .ring_bits = 8, .graph_seed = seed};
}

TEST(NeighbourGraphTest, RegularSymmetricAndDeterministic) {
  for (uint32_t n : {5u, 20u, 101u}) {
    const SecAggParams params = Params(n, 4, 42);
    ASSERT_TRUE(params.Validate().ok());
    NeighbourGraph graph(params), again(params);
    for (uint32_t u = 0; u < n; ++u) {
      ASSERT_EQ(graph.Neighbours(u).size(), 4u) << "n=" << n << " u=" << u;
      for (uint32_t v : graph.Neighbours(u)) {
        EXPECT_NE(u, v);
        EXPECT_TRUE(graph.AreNeighbours(v, u));
      }
      EXPECT_EQ(std::vector<uint32_t>(graph.Neighbours(u).begin(), graph.Neighbours(u).end()),
                std::vector<uint32_t>(again.Neighbours(u).begin(), again.Neighbours(u).end()));
    }
  }
}

TEST(NeighbourGraphTest, SeedChangesTheGraph) {
  NeighbourGraph a(Params(50, 6, 1)), b(Params(50, 6, 2));
  int differ = 0;
  for (uint32_t u = 0; u < 50; ++u) {
    differ += std::vector<uint32_t>(a.Neighbours(u).begin(), a.Neighbours(u).end()) !=
              std::vector<uint32_t>(b.Neighbours(u).begin(), b.Neighbours(u).end());
  }
  EXPECT_GT(differ, 40);
}

TEST(NeighbourGraphTest, CompleteWhenKCoversEveryone) {
  NeighbourGraph graph(Params(7, 9, 1));
  for (uint32_t u = 0; u < 7; ++u) EXPECT_EQ(graph.Neighbours(u).size(), 6u);
  EXPECT_FALSE(graph.AreNeighbours(0, 7));
}

TEST(SecAggParamsTest, ValidateNamesTheBadField) {
  SecAggParams p = Params(20, 4, 1);
  EXPECT_TRUE(p.Validate().ok());
  p.neighbours = 5;
  EXPECT_NE(p.Validate().message().find("even"), std::string::npos);
  p = Params(20, 4, 1);
  p.threshold = 5;
  EXPECT_NE(p.Validate().message().find("threshold"), std::string::npos);
  p = Params(1, 4, 1);
  EXPECT_NE(p.Validate().message().find("num_clients"), std::string::npos);
  p = Params(20, 4, 1);
  p.ring_bits = 65;
  EXPECT_NE(p.Validate().message().find("ring_bits"), std::string::npos);
  p = Params(20, 4, 1);
  p.vector_length = 0;
  EXPECT_NE(p.Validate().message().find("vector_length"), std::string::npos);
}

}  // namespace
}  // namespace fedge::secagg
