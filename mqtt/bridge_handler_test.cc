#include "mqtt/bridge_handler.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "mqtt/envelope.h"

namespace fedge::mqtt {
namespace {

constexpr size_t kMax = 64 << 10;

// Records what reaches the "Federation".
class FakeTransport final : public Transport {
 public:
  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& r) override {
    calls.push_back("register " + r.device().device_id());
    return proto::RegisterResponse();
  }
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& r) override {
    calls.push_back("poll " + r.device_id());
    proto::PollTaskResponse response;
    response.set_retry_after_millis(1234);
    return response;
  }
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& r) override {
    calls.push_back("download " + r.device_id());
    return absl::FailedPreconditionError("version 3 is not served");
  }
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& r) override {
    calls.push_back("upload " + r.device_id());
    return proto::UploadResponse();
  }
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& r) override {
    calls.push_back("report " + r.device_id());
    return proto::ReportResponse();
  }
  std::vector<std::string> calls;
};

struct Reply {
  std::string topic;
  ResponseEnvelope envelope;
  std::string bytes;  // what envelope's views point into
};

class BridgeHandlerTest : public ::testing::Test {
 protected:
  // Handles one message; the reply, if any, lands in `replies_`.
  absl::Status Send(std::string_view topic, std::string_view payload) {
    return handler_.Handle(topic, payload, [this](std::string to, std::string bytes) {
      replies_.push_back({.topic = std::move(to), .envelope = {}, .bytes = std::move(bytes)});
      absl::StatusOr<ResponseEnvelope> decoded = DecodeResponse(replies_.back().bytes, kMax);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      replies_.back().envelope = *decoded;
    });
  }

  FakeTransport fake_;
  BridgeHandler handler_{&fake_, nullptr, TopicLayout("fedge"), kMax};
  std::vector<Reply> replies_;
};

TEST_F(BridgeHandlerTest, AnswersOnTheDevicesResponseTopicWithTheRequestId) {
  proto::PollTaskRequest poll;
  poll.set_device_id("device-1");
  ASSERT_TRUE(Send("fedge/device-1/req/poll", EncodeRequest(42, poll.SerializeAsString())).ok());
  ASSERT_EQ(replies_.size(), 1u);
  EXPECT_EQ(replies_[0].topic, "fedge/device-1/resp");
  EXPECT_EQ(replies_[0].envelope.request_id, 42u);
  ASSERT_TRUE(replies_[0].envelope.status.ok());
  proto::PollTaskResponse response;
  ASSERT_TRUE(response.ParseFromArray(replies_[0].envelope.payload.data(),
                                      static_cast<int>(replies_[0].envelope.payload.size())));
  EXPECT_EQ(response.retry_after_millis(), 1234);
  EXPECT_EQ(fake_.calls, std::vector<std::string>{"poll device-1"});
}

TEST_F(BridgeHandlerTest, FederationErrorsTravelAsStatus) {
  proto::DownloadRequest download;
  download.set_device_id("d");
  ASSERT_TRUE(Send("fedge/d/req/download", EncodeRequest(1, download.SerializeAsString())).ok());
  ASSERT_EQ(replies_.size(), 1u);
  EXPECT_EQ(replies_[0].envelope.status, absl::FailedPreconditionError("version 3 is not served"));
}

// A device may act only as itself: the id in the request must be the one
// in the topic the broker authenticated.
TEST_F(BridgeHandlerTest, RefusesARequestForAnotherDevice) {
  proto::RegisterRequest reg;
  reg.mutable_device()->set_device_id("victim");
  proto::UploadRequest upload;
  upload.set_device_id("victim");
  ASSERT_TRUE(Send("fedge/attacker/req/register", EncodeRequest(1, reg.SerializeAsString())).ok());
  ASSERT_TRUE(Send("fedge/attacker/req/upload", EncodeRequest(2, upload.SerializeAsString())).ok());
  ASSERT_EQ(replies_.size(), 2u);
  for (const Reply& reply : replies_) {
    EXPECT_EQ(reply.topic, "fedge/attacker/resp");
    EXPECT_TRUE(absl::IsPermissionDenied(reply.envelope.status)) << reply.envelope.status;
  }
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(BridgeHandlerTest, GarbledProtobufIsAnsweredInvalidArgument) {
  ASSERT_TRUE(Send("fedge/d/req/upload", EncodeRequest(9, "\xff\xff\xff\xff garbage")).ok());
  ASSERT_EQ(replies_.size(), 1u);
  EXPECT_TRUE(absl::IsInvalidArgument(replies_[0].envelope.status)) << replies_[0].envelope.status;
  EXPECT_TRUE(fake_.calls.empty());
}

TEST_F(BridgeHandlerTest, DropsWhatCannotBeAnswered) {
  proto::DeviceReport report;
  report.set_device_id("d");
  const std::string good = EncodeRequest(1, report.SerializeAsString());
  EXPECT_FALSE(Send("fedge/d/req/nonsense", good).ok());
  EXPECT_FALSE(Send("fedge/d/resp", good).ok());
  EXPECT_FALSE(Send("elsewhere/d/req/report", good).ok());
  EXPECT_FALSE(Send("fedge/d/req/report", "").ok());
  EXPECT_FALSE(Send("fedge/d/req/report", "not an envelope at all").ok());
  EXPECT_FALSE(Send("fedge/d/req/report", EncodeResponse(1, absl::OkStatus(), "")).ok());
  EXPECT_FALSE(Send("fedge/d/req/report", EncodeRequest(1, std::string(kMax, 'x'))).ok());  // over the cap
  EXPECT_TRUE(replies_.empty());
  EXPECT_TRUE(fake_.calls.empty());
  EXPECT_TRUE(Send("fedge/d/req/report", good).ok());
  EXPECT_EQ(fake_.calls, std::vector<std::string>{"report d"});
}

// Every truncation and every single-byte corruption of a valid request is
// either answered once or dropped; never a crash, never two answers.
TEST_F(BridgeHandlerTest, SurvivesCorruptedRequests) {
  proto::UploadRequest upload;
  upload.set_device_id("d");
  upload.set_offset(17);
  upload.set_data(std::string(64, 'u'));
  const std::string good = EncodeRequest(5, upload.SerializeAsString());
  for (size_t n = 0; n <= good.size(); ++n) {
    const size_t before = replies_.size();
    const absl::Status status = Send("fedge/d/req/upload", good.substr(0, n));
    EXPECT_EQ(replies_.size() - before, status.ok() ? 1u : 0u);
  }
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    const size_t before = replies_.size();
    const absl::Status status = Send("fedge/d/req/upload", bad);
    EXPECT_EQ(replies_.size() - before, status.ok() ? 1u : 0u);
  }
}

// Uploads go through the asynchronous path when one is given and are
// answered when it completes, not before.
TEST(BridgeHandlerUploadTest, AnswersUploadsWhenTheAsyncUploadCompletes) {
  FakeTransport fake;
  std::vector<UploadDoneFn> waiting;
  BridgeHandler handler(
      &fake, [&waiting](const proto::UploadRequest&, UploadDoneFn done) { waiting.push_back(std::move(done)); },
      TopicLayout("fedge"), kMax);
  std::vector<std::string> replies;
  proto::UploadRequest upload;
  upload.set_device_id("d");
  ASSERT_TRUE(handler
                  .Handle("fedge/d/req/upload", EncodeRequest(3, upload.SerializeAsString()),
                          [&replies](std::string, std::string bytes) { replies.push_back(std::move(bytes)); })
                  .ok());
  EXPECT_TRUE(replies.empty());
  ASSERT_EQ(waiting.size(), 1u);
  proto::UploadResponse accepted;
  accepted.set_accepted(true);
  std::move(waiting[0])(accepted);
  ASSERT_EQ(replies.size(), 1u);
  absl::StatusOr<ResponseEnvelope> decoded = DecodeResponse(replies[0], kMax);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->request_id, 3u);
  proto::UploadResponse response;
  ASSERT_TRUE(response.ParseFromArray(decoded->payload.data(), static_cast<int>(decoded->payload.size())));
  EXPECT_TRUE(response.accepted());
  EXPECT_TRUE(fake.calls.empty());  // not the synchronous Upload
}

}  // namespace
}  // namespace fedge::mqtt
