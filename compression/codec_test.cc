#include "compression/codec.h"

#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "compression/encoder.h"
#include "core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

std::vector<float> RandomVector(int64_t n, uint64_t seed, float stddev = 1.0f) {
  SeededRandom rng(seed);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

// Encodes `x` with a fresh encoder (zero residual), i.e. the plain codec.
std::string Encode(std::string_view spec, const std::vector<float>& x, uint64_t seed = 1) {
  auto encoder = UpdateEncoder::Create(spec, static_cast<int64_t>(x.size()));
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  SeededRandom rng(seed);
  auto payload = (*encoder)->Encode(x, rng);
  EXPECT_TRUE(payload.ok()) << payload.status();
  return *payload;
}

std::vector<float> Decode(std::string_view spec, std::string_view payload, int64_t n) {
  auto view = DecodeUpdate(spec, payload, n);
  EXPECT_TRUE(view.ok()) << spec << ": " << view.status();
  std::vector<float> out(n, -7.0f);
  if (view.ok()) (*view)->DecodeInto(absl::MakeSpan(out));
  return out;
}

float BlockMaxAbs(const std::vector<float>& x, size_t i, size_t block) {
  const size_t start = i / block * block, end = std::min(start + block, x.size());
  float m = 0;
  for (size_t j = start; j < end; ++j) m = std::max(m, std::fabs(x[j]));
  return m;
}

TEST(CodecRoundTripTest, Fp32IsExactAndZstdIsLossless) {
  const auto x = RandomVector(1000, 1);
  EXPECT_EQ(Decode("fp32", Encode("fp32", x), 1000), x);
  EXPECT_EQ(Decode("fp32>zstd", Encode("fp32>zstd", x), 1000), x);
  // zstd on top of a quantizer reproduces the quantizer's output exactly.
  EXPECT_EQ(Decode("int8>zstd:5", Encode("int8>zstd:5", x, 9), 1000), Decode("int8", Encode("int8", x, 9), 1000));
}

TEST(CodecRoundTripTest, Fp16WithinHalfUlpAndSaturates) {
  auto x = RandomVector(1000, 2);
  x[0] = 1e-6f;  // half subnormal
  x[1] = 3e-9f;  // rounds to zero
  x[2] = 1e6f;   // saturates
  x[3] = -70000.0f;
  const auto y = Decode("fp16", Encode("fp16", x), 1000);
  for (size_t i = 4; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(x[i] - y[i]), std::max(std::fabs(x[i]) * 0x1p-11f, 0x1p-25f)) << i;
  }
  EXPECT_NEAR(y[0], 1e-6f, 0x1p-25f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 65504.0f);
  EXPECT_EQ(y[3], -65504.0f);
}

TEST(CodecRoundTripTest, IntQuantizersWithinOneStepOfTheirBlockScale) {
  const auto x = RandomVector(1001, 3);
  for (const auto& [spec, block, levels] :
       {std::tuple{"int8", 256, 127}, std::tuple{"int8:7", 7, 127}, std::tuple{"int4", 256, 7},
        std::tuple{"int4:10", 10, 7}}) {
    const auto y = Decode(spec, Encode(spec, x), 1001);
    for (size_t i = 0; i < x.size(); ++i) {
      const float step = BlockMaxAbs(x, i, block) / static_cast<float>(levels);
      ASSERT_LE(std::fabs(x[i] - y[i]), step * 1.0001f) << spec << " at " << i;
    }
  }
}

TEST(CodecRoundTripTest, SignSendsSignTimesBlockMeanMagnitude) {
  const auto x = RandomVector(100, 4);
  const auto y = Decode("sign:32", Encode("sign:32", x), 100);
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t start = i / 32 * 32, end = std::min<size_t>(start + 32, x.size());
    double mean = 0;
    for (size_t j = start; j < end; ++j) mean += std::fabs(x[j]);
    mean /= static_cast<double>(end - start);
    EXPECT_FLOAT_EQ(y[i], x[i] < 0 ? -mean : mean) << i;
  }
}

TEST(CodecRoundTripTest, TopKKeepsTheLargestMagnitudesExactly) {
  const auto x = RandomVector(1000, 5);
  const auto y = Decode("topk:0.05", Encode("topk:0.05", x), 1000);
  float min_kept = INFINITY, max_dropped = 0;
  int kept = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (y[i] != 0) {
      ++kept;
      EXPECT_EQ(y[i], x[i]);
      min_kept = std::min(min_kept, std::fabs(x[i]));
    } else {
      max_dropped = std::max(max_dropped, std::fabs(x[i]));
    }
  }
  EXPECT_EQ(kept, 50);
  EXPECT_GE(min_kept, max_dropped);
}

// Mean of many encodings of one vector approaches the vector: each code has
// variance <= step^2 / 4, so the mean of T encodings has standard deviation
// <= step / (2 sqrt(T)); allow 5 of those.
TEST(CodecUnbiasednessTest, StochasticQuantizersAreUnbiased) {
  constexpr int kTrials = 2000;
  const auto x = RandomVector(64, 6);
  for (const auto& [spec, levels] : {std::pair{"int8:16", 127}, std::pair{"int4:16", 7}}) {
    auto encoder = UpdateEncoder::Create(spec, 64);
    ASSERT_TRUE(encoder.ok());
    SeededRandom rng(42);
    std::vector<double> mean(64, 0.0);
    for (int t = 0; t < kTrials; ++t) {
      const auto y = Decode(spec, *(*encoder)->Encode(x, rng), 64);
      for (size_t i = 0; i < 64; ++i) mean[i] += y[i] / kTrials;
    }
    double worst_z = 0;
    for (size_t i = 0; i < 64; ++i) {
      const double step = BlockMaxAbs(x, i, 16) / levels;
      const double sigma = step / (2 * std::sqrt(static_cast<double>(kTrials)));
      worst_z = std::max(worst_z, std::fabs(mean[i] - x[i]) / sigma);
    }
    EXPECT_LT(worst_z, 5.0) << spec;
  }
}

// ggml-style conformance: every codec's fused AccumulateInto and SquaredNorm
// agree with the slow reference built from DecodeInto.
TEST(CodecConformanceTest, FusedAccumulateMatchesDecodePlusAdd) {
  const char* specs[] = {"fp32",        "fp16",        "int8",           "int8:7",        "int4",
                         "int4:6",      "sign",        "sign:16",        "topk:0.05",     "topk:0.05>int8:4",
                         "topk:0.3>fp16", "topk:0.2>int4:4>zstd", "topk:0.1>sign:8", "fp16>zstd", "int8>zstd:1"};
  for (const char* spec : specs) {
    for (int64_t n : {0, 1, 13, 1000}) {
      const auto x = RandomVector(n, 7 + n);
      const std::string payload = Encode(spec, x);
      auto view = DecodeUpdate(spec, payload, n);
      ASSERT_TRUE(view.ok()) << spec << " n=" << n << ": " << view.status();
      ASSERT_EQ((*view)->size(), n);
      std::vector<float> decoded(n);
      (*view)->DecodeInto(absl::MakeSpan(decoded));
      const float w = 0.37f;
      std::vector<float> acc = RandomVector(n, 99), expected = acc;
      double norm = 0;
      for (int64_t i = 0; i < n; ++i) {
        expected[i] += w * decoded[i];
        norm += static_cast<double>(decoded[i]) * decoded[i];
      }
      (*view)->AccumulateInto(absl::MakeSpan(acc), w);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(acc[i], expected[i], 1e-6f * (1 + std::fabs(expected[i]))) << spec << " at " << i;
      }
      EXPECT_NEAR((*view)->SquaredNorm(), norm, 1e-6 * (1 + norm)) << spec;
    }
  }
}

// --- The trust boundary: every malformed payload is rejected --------------

class MalformedPayloadTest : public ::testing::Test {
 protected:
  static constexpr int64_t kN = 1000;

  // Decoding must fail with kInvalidArgument mentioning `what`, and the
  // accumulator must be untouched (a view that slipped through would be
  // accumulated here and caught).
  void ExpectRejected(std::string_view spec, std::string_view payload, std::string_view what, int64_t n = kN) {
    std::vector<float> acc(std::max<int64_t>(n, 0), 1.0f);
    auto view = DecodeUpdate(spec, payload, n);
    if (view.ok()) (*view)->AccumulateInto(absl::MakeSpan(acc), 1.0f);
    EXPECT_EQ(view.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(std::string(view.status().message()), HasSubstr(std::string(what))) << spec;
    EXPECT_EQ(acc, std::vector<float>(acc.size(), 1.0f));
  }

  static void PutFloat(std::string& s, size_t offset, float v) { std::memcpy(s.data() + offset, &v, 4); }

  const std::vector<float> x_ = RandomVector(kN, 11);
};

TEST_F(MalformedPayloadTest, UnknownCodecAndBadElementCount) {
  const std::string payload = Encode("int8", x_);
  ExpectRejected("int7", payload, "unknown stage 'int7'");
  ExpectRejected("", payload, "empty");
  ExpectRejected("int8", payload, "element count -1", -1);
}

TEST_F(MalformedPayloadTest, WrongSizeOrTruncated) {
  const std::string int8 = Encode("int8", x_);
  ExpectRejected("int8", int8.substr(0, int8.size() - 1), "int8 payload has 1015 bytes");
  ExpectRejected("int8", int8 + "x", "exactly 1016 bytes");
  ExpectRejected("int8", int8, "exactly", kN + 1);
  ExpectRejected("int8", "", "int8 payload has 0 bytes");
  ExpectRejected("fp32", Encode("fp32", x_).substr(0, 3999), "fp32 payload has 3999 bytes");
  ExpectRejected("int4", Encode("int4", x_).substr(0, 100), "int4 payload");
  ExpectRejected("sign", Encode("sign", x_) + std::string(1, '\0'), "sign payload");
  ExpectRejected("topk:0.01", Encode("topk:0.01", x_).substr(0, 52), "topk payload has 52 bytes");
  // The payload of another codec for the same update.
  ExpectRejected("int4", int8, "int4 payload has 1016 bytes");
}

TEST_F(MalformedPayloadTest, BadScales) {
  const std::string good = Encode("int8", x_);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -1.0f,
                    std::numeric_limits<float>::max()}) {
    std::string payload = good;
    PutFloat(payload, 4 * 2, bad);  // third block's scale
    ExpectRejected("int8", payload, "scale of block 2");
  }
  std::string int4 = Encode("int4", x_);
  PutFloat(int4, 0, std::numeric_limits<float>::quiet_NaN());
  ExpectRejected("int4", int4, "int4 payload: scale of block 0");
  std::string sign = Encode("sign", x_);
  PutFloat(sign, 12, -std::numeric_limits<float>::infinity());
  ExpectRejected("sign", sign, "sign payload: scale of block 3");
}

TEST_F(MalformedPayloadTest, NonFiniteValuesAndNonZeroPadding) {
  std::string fp32 = Encode("fp32", x_);
  PutFloat(fp32, 4 * 500, std::numeric_limits<float>::quiet_NaN());
  ExpectRejected("fp32", fp32, "value 500 is nan");
  std::string fp16 = Encode("fp16", x_);
  fp16[2 * 7] = 0;
  fp16[2 * 7 + 1] = 0x7c;  // +infinity
  ExpectRejected("fp16", fp16, "value 7 is infinite");
  const std::vector<float> odd(RandomVector(13, 3));
  std::string int4 = Encode("int4", odd);
  int4.back() = static_cast<char>(int4.back() | 0x10);
  ExpectRejected("int4", int4, "unused high nibble", 13);
  std::string sign = Encode("sign", odd);
  sign.back() = static_cast<char>(sign.back() | 0x80);
  ExpectRejected("sign", sign, "padding bits", 13);
  std::string topk = Encode("topk:0.01", x_);
  PutFloat(topk, 13 + 4 * 3, std::numeric_limits<float>::infinity());  // after 13 bytes of indices
  ExpectRejected("topk:0.01", topk, "fp32 payload: value 3 is inf");
}

TEST_F(MalformedPayloadTest, BadTopKIndices) {
  // n = 1000 packs each index into 10 bits, LSB first: index j occupies bits
  // [10j, 10j + 10) of the section.
  const std::string good = Encode("topk:0.01>int8", x_);  // k = 10, 13 index bytes
  auto set_index = [](std::string payload, int j, uint32_t value) {
    for (int b = 0; b < 10; ++b) {
      const int bit = 10 * j + b;
      const char mask = static_cast<char>(1 << (bit % 8));
      payload[bit / 8] = static_cast<char>((value >> b) & 1 ? payload[bit / 8] | mask : payload[bit / 8] & ~mask);
    }
    return payload;
  };
  auto get_index = [](const std::string& payload, int j) {
    uint32_t value = 0;
    for (int b = 0; b < 10; ++b) {
      const int bit = 10 * j + b;
      value |= static_cast<uint32_t>((payload[bit / 8] >> (bit % 8)) & 1) << b;
    }
    return value;
  };
  ExpectRejected("topk:0.01>int8", set_index(good, 9, kN), "index 9 is 1000, outside [0, 1000)");
  ExpectRejected("topk:0.01>int8", set_index(good, 9, 1023), "outside");
  ExpectRejected("topk:0.01>int8", set_index(good, 1, get_index(good, 0)), "duplicate index");
  std::string swapped = set_index(good, 0, get_index(good, 1));
  ExpectRejected("topk:0.01>int8", set_index(swapped, 1, get_index(good, 0)), "strictly increasing");
  std::string padded = good;
  padded[12] = static_cast<char>(padded[12] | 0x80);  // 100 index bits end at bit 4 of byte 12
  ExpectRejected("topk:0.01>int8", padded, "padding bits");
}

TEST_F(MalformedPayloadTest, ZstdGarbageAndBombs) {
  const std::string raw = Encode("int8", x_);  // what int8>zstd must decompress to
  ExpectRejected("int8>zstd", "definitely not a zstd frame", "zstd");
  ExpectRejected("int8>zstd", "", "zstd");
  std::string truncated = Encode("int8>zstd", x_);
  truncated.resize(truncated.size() / 2);
  ExpectRejected("int8>zstd", truncated, "zstd payload");
  // Uncompressed int8 bytes where a frame was expected.
  ExpectRejected("int8>zstd", raw, "zstd");

  auto compress = [](const std::string& bytes, bool declare_size) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, declare_size ? 1 : 0);
    std::string out(ZSTD_compressBound(bytes.size()), '\0');
    const size_t n = ZSTD_compress2(cctx, out.data(), out.size(), bytes.data(), bytes.size());
    ZSTD_freeCCtx(cctx);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
  };
  // One byte too many, with and without the size in the frame header: a
  // frame must declare exactly the expected size.
  ExpectRejected("int8>zstd", compress(raw + "x", true), "declares 1017 decompressed bytes");
  ExpectRejected("int8>zstd", compress(raw + "x", false), "declares no decompressed bytes");
  // A 16 MB bomb of zeros that compresses to under a kilobyte.
  const std::string bomb(16 << 20, '\0');
  ExpectRejected("int8>zstd", compress(bomb, false), "declares no");
  ExpectRejected("int8>zstd", compress(bomb, true), "declares 16777216");
  ExpectRejected("int8>zstd", compress(raw.substr(1), true), "declares 1015 decompressed bytes");
  // Two valid frames, even when their concatenation has the right size.
  ExpectRejected("int8>zstd", compress(raw.substr(0, 1000), true) + compress(raw.substr(1000), true),
                 "exactly one frame");
  // Regression: skippable frames (magic 0x184D2A5?) smuggled padding the
  // codec's MaxEncodedSize says cannot be there.
  auto skippable = [](uint32_t n) {
    std::string frame = {'\x50', '\x2a', '\x4d', '\x18'};
    for (int shift = 0; shift < 32; shift += 8) frame.push_back(static_cast<char>((n >> shift) & 0xff));
    return frame + std::string(n, 'p');
  };
  ExpectRejected("int8>zstd", compress(raw, true) + skippable(16), "exactly one frame");
  ExpectRejected("int8>zstd", compress(raw, true) + skippable(100 << 10), "larger than");
  ExpectRejected("int8>zstd", skippable(16) + compress(raw, true), "standard zstd frame");
  EXPECT_TRUE(DecodeUpdate("int8>zstd", compress(raw, true), kN).ok());
  // Well-formed zstd around a malformed inner payload.
  std::string bad_scale = raw;
  PutFloat(bad_scale, 0, std::numeric_limits<float>::quiet_NaN());
  ExpectRejected("int8>zstd", compress(bad_scale, true), "scale of block 0");
}

// Regression: near FLT_MAX the encoders wrote block scales their own
// decoders refused (scale * max code overflowed).
TEST(CodecRoundTripTest, EncodersWriteOnlyScalesTheirDecodersAccept) {
  constexpr float kMax = std::numeric_limits<float>::max();
  for (const char* spec : {"int8", "int4", "int8:16", "int4:16", "topk:0.5>int8", "int8>zstd"}) {
    for (float big : {kMax, 0.9f * kMax, -kMax}) {
      std::vector<float> x = RandomVector(64, 3);
      x[5] = big;
      x[40] = -big / 2;
      const std::string payload = Encode(spec, x);
      auto view = DecodeUpdate(spec, payload, 64);
      ASSERT_TRUE(view.ok()) << spec << " " << big << ": " << view.status();
      EXPECT_TRUE(std::isfinite((*view)->SquaredNorm())) << spec;
      std::vector<float> out(64);
      (*view)->DecodeInto(absl::MakeSpan(out));
      EXPECT_GT(out[5] * big, 0) << spec << ": the huge value keeps its sign";
    }
  }
}

// Random byte corruption of valid payloads: whatever DecodeUpdate accepts
// must be safe to use (finite norm and values; run under ASan/UBSan too).
TEST(CodecCorruptionTest, AcceptedPayloadsAlwaysDecodeToFiniteValues) {
  constexpr int64_t kN = 300;
  const auto x = RandomVector(kN, 21);
  SeededRandom rng(77);
  for (const char* spec : {"fp32", "fp16", "int8:32", "int4:32", "sign:32", "topk:0.1>int8:8", "int8>zstd"}) {
    const std::string good = Encode(spec, x);
    for (int trial = 0; trial < 300; ++trial) {
      std::string payload = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) payload[rng() % payload.size()] = static_cast<char>(rng());
      if (trial % 10 == 0) payload.resize(rng() % (payload.size() + 8), 'z');
      auto view = DecodeUpdate(spec, payload, kN);
      if (!view.ok()) {
        ASSERT_EQ(view.status().code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ASSERT_TRUE(std::isfinite((*view)->SquaredNorm())) << spec;
      std::vector<float> acc(kN, 0.0f);
      (*view)->AccumulateInto(absl::MakeSpan(acc), 1.0f);
      for (float v : acc) ASSERT_TRUE(std::isfinite(v)) << spec;
    }
  }
}

}  // namespace
}  // namespace fedge
