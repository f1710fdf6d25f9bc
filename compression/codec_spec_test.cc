#include "compression/codec_spec.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "compression/codec.h"
#include "compression/value_stage_registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

TEST(CodecSpecTest, ParsesPipelinesAndDefaults) {
  auto spec = ParseCodecSpec("topk:0.01>int8>zstd");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_DOUBLE_EQ(*spec->topk_fraction, 0.01);
  EXPECT_EQ(spec->value.name, "int8");
  EXPECT_EQ(spec->value.param, absl::StrCat(kDefaultBlockSize));
  EXPECT_EQ(*spec->zstd_level, kDefaultZstdLevel);
  EXPECT_TRUE(spec->uses_error_feedback());
  EXPECT_EQ(spec->ToString(), "topk:0.01>int8:256>zstd:3");
}

TEST(CodecSpecTest, CanonicalFormRoundTrips) {
  for (const char* text : {"fp32", "fp16", "int8:512", "int4:6", "sign:64", " topk : 0.3 > fp16 ", "zstd:19",
                           "topk:0.123456789", "int4>zstd:1"}) {
    auto spec = ParseCodecSpec(text);
    ASSERT_TRUE(spec.ok()) << text << ": " << spec.status();
    auto again = ParseCodecSpec(spec->ToString());
    ASSERT_TRUE(again.ok()) << spec->ToString();
    EXPECT_EQ(again->ToString(), spec->ToString());
    EXPECT_EQ(again->topk_fraction, spec->topk_fraction);
  }
  EXPECT_EQ(ParseCodecSpec("zstd")->ToString(), "fp32>zstd:3");
  EXPECT_EQ(ParseCodecSpec("topk:0.5")->ToString(), "topk:0.5>fp32");
  EXPECT_FALSE(ParseCodecSpec("int8")->uses_error_feedback());
  EXPECT_TRUE(ParseCodecSpec("sign")->uses_error_feedback());
}

TEST(CodecSpecTest, RejectsBadSpecsWithClearErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"int7", "unknown stage 'int7'"},
      {"int8>>zstd", "stage 2 is empty"},
      {"int8:abc", "block size 'abc'"},
      {"int8:0", "block size '0'"},
      {"int8:70000", "block size '70000'"},
      {"int4:7", "multiple of 2"},
      {"sign:12", "multiple of 8"},
      {"fp16:2", "takes no parameter"},
      {"topk", "needs a fraction"},
      {"topk:0", "(0, 1]"},
      {"topk:1.5", "(0, 1]"},
      {"topk:nan", "(0, 1]"},
      {"int8>topk:0.1", "'topk' must be the first stage"},
      {"zstd>int8", "'zstd' must be the last stage"},
      {"int8>zstd>zstd", "'zstd' must be the last stage"},
      {"fp16>int8", "only one value stage"},
      {"int8>zstd:0", "zstd level '0'"},
      {"INT8", "unknown stage"},
  };
  for (const auto& [text, message] : cases) {
    absl::Status status = ValidateCodecSpec(text);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(status.message()), HasSubstr(message)) << text;
  }
}

TEST(CodecSpecTest, BuiltInValueStagesRegisterThemselves) {
  // fedge::compression is linked as a whole archive, so every stage file's
  // registration runs although this test names none of them.
  for (const char* name : {"fp32", "fp16", "int8", "int4", "sign"}) {
    const ValueStageRegistration* stage = FindValueStage(name);
    ASSERT_NE(stage, nullptr) << name;
    EXPECT_THAT(std::string(ValidateCodecSpec("int7").message()), HasSubstr(stage->grammar));
  }
  EXPECT_EQ(FindValueStage("int7"), nullptr);
}

TEST(CodecSpecTest, TopKCountRoundsUpAndClamps) {
  EXPECT_EQ(TopKCount(0.01, 0), 0);
  EXPECT_EQ(TopKCount(0.01, 50), 1);
  EXPECT_EQ(TopKCount(0.01, 1000), 10);
  EXPECT_EQ(TopKCount(0.011, 1000), 11);
  EXPECT_EQ(TopKCount(1.0, 7), 7);
}

TEST(CodecSpecTest, SizesAndRatios) {
  EXPECT_EQ(*MaxEncodedSize("fp32", 1000), 4000u);
  EXPECT_EQ(*MaxEncodedSize("int8", 1000), 4u * 4 + 1000);
  EXPECT_EQ(*MaxEncodedSize("int4:100", 1001), 4u * 11 + 501);
  EXPECT_EQ(*MaxEncodedSize("sign", 1000), 4u * 4 + 125);
  EXPECT_EQ(*MaxEncodedSize("topk:0.01>fp16", 1000), 13u + 10 * 2);  // 10 indices of 10 bits, 10 halves
  EXPECT_GE(*MaxEncodedSize("int8>zstd", 1000), 1016u);
  EXPECT_EQ(MaxEncodedSize("int8", -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_DOUBLE_EQ(CompressionRatio(1000, 1000), 4.0);
  EXPECT_DOUBLE_EQ(CompressionRatio(0, 1000), 0.0);
}

}  // namespace
}  // namespace fedge
