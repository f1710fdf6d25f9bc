#include "mqtt/envelope.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace fedge::mqtt {
namespace {

constexpr size_t kMax = 1 << 20;

TEST(EnvelopeTest, RequestRoundTrips) {
  const std::string bytes = EncodeRequest(0x0102030405060708, std::string("payload\0x", 9));
  absl::StatusOr<RequestEnvelope> decoded = DecodeRequest(bytes, kMax);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->request_id, 0x0102030405060708u);
  EXPECT_EQ(decoded->payload, std::string_view("payload\0x", 9));
  EXPECT_EQ(bytes.size(), kRequestHeaderBytes + 9);
}

TEST(EnvelopeTest, OkResponseRoundTrips) {
  const std::string bytes = EncodeResponse(7, absl::OkStatus(), "answer");
  absl::StatusOr<ResponseEnvelope> decoded = DecodeResponse(bytes, kMax);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->request_id, 7u);
  EXPECT_TRUE(decoded->status.ok());
  EXPECT_EQ(decoded->payload, "answer");
}

// Every canonical code travels as itself, with its message, and drops the
// payload: the device sees the Federation's error as over gRPC.
TEST(EnvelopeTest, EveryStatusCodeMapsBack) {
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "what to fix");
    const std::string bytes = EncodeResponse(code, status, "ignored");
    absl::StatusOr<ResponseEnvelope> decoded = DecodeResponse(bytes, kMax);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->status, status);
    EXPECT_TRUE(decoded->payload.empty());
  }
}

TEST(EnvelopeTest, LongStatusMessagesAreCut) {
  const absl::Status status = absl::InvalidArgumentError(std::string(5000, 'x'));
  const std::string bytes = EncodeResponse(1, status, "");
  absl::StatusOr<ResponseEnvelope> decoded = DecodeResponse(bytes, kMax);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->status.message().size(), kMaxStatusMessageBytes);
}

TEST(EnvelopeTest, RefusesHostileBytes) {
  const std::string ok_response = EncodeResponse(1, absl::NotFoundError("gone"), "");
  std::string bad_code = ok_response;
  bad_code[kRequestHeaderBytes] = 17;
  std::string long_message = ok_response;
  long_message[kRequestHeaderBytes + 1] = static_cast<char>(0xff);
  std::string ok_with_message = EncodeResponse(1, absl::OkStatus(), "");
  ok_with_message[kRequestHeaderBytes + 1] = 1;
  ok_with_message.push_back('m');
  std::string error_with_payload = ok_response + "payload";
  std::string bad_version = ok_response;
  bad_version[2] = 2;
  for (const std::string& bytes : {std::string(), std::string("fr"), std::string("xx") + ok_response.substr(2),
                                   bad_code, long_message, ok_with_message, error_with_payload, bad_version,
                                   ok_response.substr(0, kRequestHeaderBytes + 2),
                                   EncodeRequest(1, "a request is not a response")}) {
    EXPECT_FALSE(DecodeResponse(bytes, kMax).ok()) << absl::CEscape(bytes);
  }
  EXPECT_FALSE(DecodeRequest("fq", kMax).ok());
  EXPECT_FALSE(DecodeRequest(ok_response, kMax).ok());
  EXPECT_FALSE(DecodeRequest(EncodeRequest(1, std::string(100, 'x')), 100).ok());  // over the cap
}

}  // namespace
}  // namespace fedge::mqtt
