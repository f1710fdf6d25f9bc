#include "coordinator/store/blob_encoding.h"

#include "gtest/gtest.h"

namespace fedge {
namespace {

TEST(BlobEncodingTest, RoundTrips) {
  const std::vector<std::vector<float>> vectors = {{1, -2.5f}, {}, {3}};
  EXPECT_EQ(*DecodeFloatVectors(EncodeFloatVectors(vectors), "x"), vectors);
  const std::vector<std::string> strings = {"a", "", "dev\n1"};
  EXPECT_EQ(*DecodeStrings(EncodeStrings(strings), "x"), strings);
  const std::map<std::string, double> metrics = {{"acc", 0.5}, {"loss", -1e300}};
  EXPECT_EQ(*DecodeMetrics(EncodeMetrics(metrics), "x"), metrics);
}

TEST(BlobEncodingTest, TruncatedOrPaddedBlobsAreDataLoss) {
  const std::string blob = EncodeFloatVectors({{1, 2, 3}});
  EXPECT_EQ(DecodeFloatVectors(blob.substr(0, blob.size() - 1), "strategy state").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeStrings(EncodeStrings({"ab"}) + "x", "cohort").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeMetrics("\xff\xff\xff\xff\xff\xff\xff\xff", "metrics").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fedge
