#include "compression/encoder.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "compression/codec.h"
#include "core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

std::vector<float> RandomVector(int64_t n, uint64_t seed) {
  SeededRandom rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

std::unique_ptr<UpdateEncoder> MakeEncoder(std::string_view spec, int64_t n) {
  auto encoder = UpdateEncoder::Create(spec, n);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return std::move(encoder).value();
}

TEST(UpdateEncoderTest, CreateValidatesSpecAndSize) {
  EXPECT_EQ(UpdateEncoder::Create("int9", 10).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UpdateEncoder::Create("int8", -1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MakeEncoder("int8", 10)->residual().empty());
  EXPECT_EQ(MakeEncoder("topk:0.1>int8", 10)->residual().size(), 10u);
  EXPECT_EQ(MakeEncoder("sign", 10)->residual().size(), 10u);
}

TEST(UpdateEncoderTest, EncodingIsReproducibleFromTheSeed) {
  const auto x = RandomVector(500, 1);
  auto encode = [&](uint64_t seed) {
    SeededRandom rng(seed);
    return *MakeEncoder("int4>zstd", 500)->Encode(x, rng);
  };
  EXPECT_EQ(encode(3), encode(3));
  EXPECT_NE(encode(3), encode(4));
}

TEST(UpdateEncoderTest, RejectsBadDeltasWithoutTouchingTheResidual) {
  auto encoder = MakeEncoder("topk:0.1", 10);
  SeededRandom rng(1);
  ASSERT_TRUE(encoder->Encode(RandomVector(10, 2), rng).ok());
  const std::vector<float> before(encoder->residual().begin(), encoder->residual().end());
  std::vector<float> bad = RandomVector(10, 3);
  bad[4] = std::numeric_limits<float>::quiet_NaN();
  auto status = encoder->Encode(bad, rng).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("delta value 4"));
  EXPECT_EQ(encoder->Encode(RandomVector(9, 3), rng).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::vector<float>(encoder->residual().begin(), encoder->residual().end()), before);
}

TEST(UpdateEncoderTest, RejectsDeltasThatOverflowWithTheResidual) {
  constexpr float kMax = std::numeric_limits<float>::max();
  auto encoder = MakeEncoder("topk:0.1", 10);  // keeps 1 of 10; ties go to the lower index
  SeededRandom rng(1);
  std::vector<float> delta(10, 0.0f);
  delta[0] = delta[1] = kMax;
  ASSERT_TRUE(encoder->Encode(delta, rng).ok());
  ASSERT_EQ(encoder->residual()[1], kMax);
  delta[0] = 0;
  auto status = encoder->Encode(delta, rng).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("delta value 1"));
  EXPECT_EQ(encoder->residual()[1], kMax);
}

// With error feedback nothing is lost: what the coordinator decoded over all
// rounds plus what the device still holds equals the sum of the deltas.
TEST(UpdateEncoderTest, ErrorFeedbackConservesMass) {
  constexpr int64_t kN = 2000;
  for (const char* spec : {"topk:0.01", "sign:64", "topk:0.05>int8:16>zstd", "topk:0.1>sign"}) {
    auto encoder = MakeEncoder(spec, kN);
    SeededRandom rng(5);
    std::vector<double> inputs(kN, 0.0), sent(kN, 0.0);
    for (int step = 0; step < 6; ++step) {
      const auto delta = RandomVector(kN, 100 + step);
      auto payload = encoder->Encode(delta, rng);
      ASSERT_TRUE(payload.ok()) << payload.status();
      std::vector<float> decoded(kN);
      auto view = DecodeUpdate(spec, *payload, kN);
      ASSERT_TRUE(view.ok()) << view.status();
      (*view)->DecodeInto(absl::MakeSpan(decoded));
      for (int64_t i = 0; i < kN; ++i) {
        inputs[i] += delta[i];
        sent[i] += decoded[i];
      }
    }
    double residual_norm = 0;
    for (int64_t i = 0; i < kN; ++i) {
      ASSERT_NEAR(sent[i] + encoder->residual()[i], inputs[i], 1e-4) << spec << " at " << i;
      residual_norm += encoder->residual()[i] * encoder->residual()[i];
    }
    EXPECT_GT(residual_norm, 0) << spec;  // the stage really is lossy
  }
}

// An update that was never delivered puts its mass back: after a revert the
// residual is what it was before that Encode, exactly.
TEST(UpdateEncoderTest, RevertLastEncodeRestoresTheResidualExactly) {
  constexpr int64_t kN = 500;
  auto encoder = MakeEncoder("topk:0.05>int8", kN);
  SeededRandom rng(9);
  ASSERT_TRUE(encoder->Encode(RandomVector(kN, 1), rng).ok());
  const std::vector<float> before(encoder->residual().begin(), encoder->residual().end());
  ASSERT_TRUE(encoder->Encode(RandomVector(kN, 2), rng).ok());
  ASSERT_NE(std::vector<float>(encoder->residual().begin(), encoder->residual().end()), before);
  encoder->RevertLastEncode();
  EXPECT_EQ(std::vector<float>(encoder->residual().begin(), encoder->residual().end()), before);
  encoder->RevertLastEncode();  // only the last Encode can be reverted
  EXPECT_EQ(std::vector<float>(encoder->residual().begin(), encoder->residual().end()), before);
  auto stateless = MakeEncoder("int8", kN);
  ASSERT_TRUE(stateless->Encode(RandomVector(kN, 3), rng).ok());
  stateless->RevertLastEncode();
  EXPECT_TRUE(stateless->residual().empty());
}

TEST(UpdateEncoderTest, ReturnUndeliveredCarriesTheWholeDeltaForward) {
  constexpr int64_t kN = 500;
  auto encoder = MakeEncoder("topk:0.05>int8>zstd", kN);
  SeededRandom rng(4);
  ASSERT_TRUE(encoder->Encode(RandomVector(kN, 1), rng).ok());
  const std::vector<float> before(encoder->residual().begin(), encoder->residual().end());
  const std::vector<float> delta = RandomVector(kN, 2);
  auto payload = encoder->Encode(delta, rng);
  ASSERT_TRUE(payload.ok());
  // Kept, then refused: residual after = delta + residual before.
  ASSERT_TRUE(encoder->ReturnUndelivered(*payload).ok());
  for (int64_t i = 0; i < kN; ++i) EXPECT_NEAR(encoder->residual()[i], before[i] + delta[i], 1e-5) << i;
  const std::vector<float> returned(encoder->residual().begin(), encoder->residual().end());
  encoder->RevertLastEncode();  // would double-count: a no-op now
  EXPECT_EQ(std::vector<float>(encoder->residual().begin(), encoder->residual().end()), returned);

  EXPECT_EQ(encoder->ReturnUndelivered("not a payload").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::vector<float>(encoder->residual().begin(), encoder->residual().end()), returned);
  auto stateless = MakeEncoder("int8", kN);
  auto sent = stateless->Encode(delta, rng);
  ASSERT_TRUE(sent.ok());
  EXPECT_TRUE(stateless->ReturnUndelivered(*sent).ok());
  EXPECT_TRUE(stateless->residual().empty());
}

TEST(UpdateEncoderTest, StateRoundTripResumesIdentically) {
  constexpr int64_t kN = 300;
  auto a = MakeEncoder("topk:0.1>int8", kN);
  SeededRandom rng(7);
  for (int step = 0; step < 3; ++step) ASSERT_TRUE(a->Encode(RandomVector(kN, step), rng).ok());
  const std::string state = a->SaveState();

  auto b = MakeEncoder("topk:0.1>int8", kN);
  ASSERT_TRUE(b->RestoreState(state).ok());
  EXPECT_EQ(std::vector<float>(a->residual().begin(), a->residual().end()),
            std::vector<float>(b->residual().begin(), b->residual().end()));
  SeededRandom rng_a(9), rng_b(9);
  const auto delta = RandomVector(kN, 50);
  EXPECT_EQ(*a->Encode(delta, rng_a), *b->Encode(delta, rng_b));

  // Stateless pipelines save an empty residual and restore it.
  auto c = MakeEncoder("int8", kN);
  EXPECT_TRUE(c->RestoreState(c->SaveState()).ok());
}

// Independent FNV-1a, to forge states whose checksum is right but whose
// content is not.
uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

void Reseal(std::string& state) {
  const uint64_t h = Fnv1a64(std::string_view(state).substr(0, state.size() - 8));
  std::memcpy(state.data() + state.size() - 8, &h, 8);
}

TEST(UpdateEncoderTest, CorruptOrMismatchedStateIsRejected) {
  constexpr int64_t kN = 20;
  auto encoder = MakeEncoder("sign:8", kN);
  SeededRandom rng(1);
  ASSERT_TRUE(encoder->Encode(RandomVector(kN, 1), rng).ok());
  const std::string good = encoder->SaveState();
  const std::vector<float> residual(encoder->residual().begin(), encoder->residual().end());

  auto expect = [&](std::string_view state, absl::StatusCode code, std::string_view what) {
    auto target = MakeEncoder("sign:8", kN);
    ASSERT_TRUE(target->RestoreState(good).ok());
    absl::Status status = target->RestoreState(state);
    EXPECT_EQ(status.code(), code) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(std::string(what)));
    EXPECT_EQ(std::vector<float>(target->residual().begin(), target->residual().end()), residual);
  };
  std::string flipped = good;
  flipped[30] ^= 1;
  expect(flipped, absl::StatusCode::kInvalidArgument, "checksum mismatch");
  expect(good.substr(0, good.size() - 1), absl::StatusCode::kInvalidArgument, "does not match");
  expect(good.substr(0, 10), absl::StatusCode::kInvalidArgument, "too short");
  std::string magic = good;
  magic[0] = 'X';
  expect(magic, absl::StatusCode::kInvalidArgument, "bad magic");
  std::string version = good;
  version[4] = 2;
  expect(version, absl::StatusCode::kInvalidArgument, "unsupported version 2");
  std::string nan = good;
  const float bad = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.data() + 24 + 4 * 3, &bad, 4);
  Reseal(nan);
  expect(nan, absl::StatusCode::kInvalidArgument, "residual value 3 is not finite");
  expect(MakeEncoder("sign:8", kN + 1)->SaveState(), absl::StatusCode::kFailedPrecondition, "for 21 elements");
  auto stateless = MakeEncoder("int8", kN);
  EXPECT_EQ(stateless->RestoreState(good).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(UpdateEncoderTest, PayloadSizesMatchTheDocumentedLayouts) {
  const auto x = RandomVector(1000, 8);
  SeededRandom rng(1);
  for (const char* spec : {"fp32", "fp16", "int8", "int4", "sign", "topk:0.01>int8"}) {
    auto payload = MakeEncoder(spec, 1000)->Encode(x, rng);
    ASSERT_TRUE(payload.ok());
    EXPECT_EQ(payload->size(), *MaxEncodedSize(spec, 1000)) << spec;
  }
  auto payload = MakeEncoder("int8", 1000)->Encode(x, rng);
  EXPECT_NEAR(CompressionRatio(payload->size(), 1000), 4000.0 / 1016.0, 1e-12);
}

}  // namespace
}  // namespace fedge
