#include "simulations/mpi_messages.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;

MpiTrainRequest SomeRequest() {
  MpiTrainRequest r;
  r.device_index = 77;
  r.seed = 0xfeedbeefcafe1234ULL;
  r.noise_seed = 99;
  r.config.set_local_epochs(2);
  r.config.set_batch_size(16);
  r.config.set_learning_rate(0.05);
  r.global = {0.5f, -1.25f, std::numeric_limits<float>::denorm_min(), 3.0e38f, -0.0f};
  return r;
}

MpiTrainReply SomeReply() {
  MpiTrainReply r;
  r.result.local.values = {1.0f, std::nextafter(1.0f, 2.0f), -7.5f};
  r.result.num_examples = 40;
  r.result.metrics = {{"train_loss", 0.123456789}, {"train_steps", 3}};
  r.result.privacy = SgmEvent{.sample_rate = 0.4, .noise_multiplier = 0.8, .steps = 3};
  r.result.train_cpu_seconds = 0.25;
  return r;
}

// The bytes of a float vector must come back bit for bit.
bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(MpiMessagesTest, TrainRequestRoundTrips) {
  const MpiTrainRequest in = SomeRequest();
  absl::StatusOr<MpiTrainRequest> out = DecodeMpiTrainRequest(EncodeMpiTrainRequest(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->device_index, in.device_index);
  EXPECT_EQ(out->seed, in.seed);
  EXPECT_EQ(out->noise_seed, in.noise_seed);
  EXPECT_EQ(out->config.SerializeAsString(), in.config.SerializeAsString());
  EXPECT_TRUE(SameBits(out->global, in.global));
  EXPECT_EQ(*PeekMpiMessageKind(EncodeMpiTrainRequest(in)), MpiMessageKind::kTrain);
}

TEST(MpiMessagesTest, TrainReplyRoundTripsBitForBit) {
  const MpiTrainReply in = SomeReply();
  absl::StatusOr<MpiTrainReply> out = DecodeMpiTrainReply(EncodeMpiTrainReply(in));
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(out->status.ok());
  EXPECT_TRUE(SameBits(out->result.local.values, in.result.local.values));
  EXPECT_EQ(out->result.num_examples, 40u);
  EXPECT_EQ(out->result.metrics, in.result.metrics);
  ASSERT_TRUE(out->result.privacy.has_value());
  EXPECT_EQ(out->result.privacy->sample_rate, 0.4);
  EXPECT_EQ(out->result.privacy->noise_multiplier, 0.8);
  EXPECT_EQ(out->result.privacy->steps, 3);
  EXPECT_EQ(out->result.train_cpu_seconds, 0.25);
}

TEST(MpiMessagesTest, AnErrorReplyCarriesItsStatus) {
  MpiTrainReply in;
  in.status = absl::FailedPreconditionError("no local data");
  absl::StatusOr<MpiTrainReply> out = DecodeMpiTrainReply(EncodeMpiTrainReply(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->status, in.status);
}

TEST(MpiMessagesTest, HelloAndItsReplyRoundTrip) {
  absl::StatusOr<MpiHello> hello = DecodeMpiHello(EncodeMpiHello({.fingerprint = "scenario json"}));
  ASSERT_TRUE(hello.ok()) << hello.status();
  EXPECT_EQ(hello->fingerprint, "scenario json");
  absl::StatusOr<MpiHelloReply> ok = DecodeMpiHelloReply(EncodeMpiHelloReply({}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->setup.ok());
  absl::StatusOr<MpiHelloReply> failed =
      DecodeMpiHelloReply(EncodeMpiHelloReply({.setup = absl::NotFoundError("no dataset")}));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_EQ(failed->setup, absl::NotFoundError("no dataset"));
  EXPECT_EQ(*PeekMpiMessageKind(EncodeMpiStop()), MpiMessageKind::kStop);
}

TEST(MpiMessagesTest, EveryTruncationIsRefused) {
  const std::string request = EncodeMpiTrainRequest(SomeRequest());
  for (size_t n = 0; n < request.size(); ++n) {
    EXPECT_FALSE(DecodeMpiTrainRequest(request.substr(0, n)).ok()) << "request cut at " << n;
  }
  const std::string reply = EncodeMpiTrainReply(SomeReply());
  for (size_t n = 0; n < reply.size(); ++n) {
    EXPECT_FALSE(DecodeMpiTrainReply(reply.substr(0, n)).ok()) << "reply cut at " << n;
  }
}

TEST(MpiMessagesTest, TrailingBytesAreRefused) {
  absl::StatusOr<MpiTrainReply> out = DecodeMpiTrainReply(EncodeMpiTrainReply(SomeReply()) + "x");
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("unexpected bytes"));
}

TEST(MpiMessagesTest, HostileHeadersAreRefused) {
  std::string bytes = EncodeMpiTrainRequest(SomeRequest());
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_EQ(DecodeMpiTrainRequest(bad_magic).status().code(), absl::StatusCode::kDataLoss);
  std::string bad_version = bytes;
  bad_version[4] = 9;
  EXPECT_THAT(DecodeMpiTrainRequest(bad_version).status().message(), HasSubstr("same fedge-sim binary"));
  std::string bad_kind = bytes;
  bad_kind[5] = 42;
  EXPECT_THAT(DecodeMpiTrainRequest(bad_kind).status().message(), HasSubstr("unknown MPI message kind"));
  // A reply where a request is expected.
  EXPECT_FALSE(DecodeMpiTrainRequest(EncodeMpiTrainReply(SomeReply())).ok());
}

TEST(MpiMessagesTest, HostileLengthsAreRefusedBeforeAllocating) {
  // The global vector's count (after header 6, three u64 and the config
  // string) claims 2^40 floats.
  MpiTrainRequest r = SomeRequest();
  std::string bytes = EncodeMpiTrainRequest(r);
  const size_t count_at = 6 + 3 * 8 + 4 + r.config.SerializeAsString().size();
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(bytes.data() + count_at, &huge, sizeof(huge));
  absl::StatusOr<MpiTrainRequest> out = DecodeMpiTrainRequest(bytes);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("global"));
  // A string length larger than the message.
  std::string hello = EncodeMpiHello({.fingerprint = "abc"});
  const uint32_t long_string = 1u << 30;
  std::memcpy(hello.data() + 6, &long_string, sizeof(long_string));
  EXPECT_FALSE(DecodeMpiHello(hello).ok());
}

TEST(MpiMessagesTest, NonFiniteParametersAreRefused) {
  MpiTrainReply r = SomeReply();
  r.result.local.values[1] = std::nanf("");
  absl::StatusOr<MpiTrainReply> out = DecodeMpiTrainReply(EncodeMpiTrainReply(r));
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("local[1] is not a finite number"));
}

TEST(MpiMessagesTest, OutOfRangeFieldsAreRefused) {
  MpiTrainReply r = SomeReply();
  r.result.privacy->sample_rate = 1.5;
  EXPECT_FALSE(DecodeMpiTrainReply(EncodeMpiTrainReply(r)).ok());
  std::string bad_status = EncodeMpiHelloReply({});
  const uint32_t code = 1000;
  std::memcpy(bad_status.data() + 6, &code, sizeof(code));
  EXPECT_THAT(DecodeMpiHelloReply(bad_status).status().message(), HasSubstr("unknown status code"));
}

}  // namespace
}  // namespace fedge
