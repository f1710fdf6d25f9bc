// mqtt_envelope_fuzzer: one MQTT message as the coordinator's bridge and a
// device receive it (mqtt/envelope.h, mqtt/bridge_handler.h): the payload
// through DecodeRequest and DecodeResponse, then topic and payload through a
// BridgeHandler over a Transport that answers every call.
//
// Input: Bytes(topic) then Rest(payload) (fuzz/fuzz_input.h). Seeds are
// envelopes of every RPC as MqttTransport sends them on their topics, and
// responses as the bridge sends them.
//
// Invariants beyond "no crash, no sanitizer report":
//   - a decoded request or response re-encodes to exactly the input bytes
//     (the format has one encoding);
//   - decoding fails only with kInvalidArgument;
//   - the handler answers at most once, on P/<the topic's device>/resp, with
//     a response that decodes and carries the request's id; it answers
//     exactly when it does not report a drop; a drop is kInvalidArgument.
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "mqtt/bridge_handler.h"
#include "mqtt/envelope.h"

namespace fedge::fuzz {
namespace {

constexpr size_t kMaxBytes = 1 << 20;

class AnsweringTransport final : public Transport {
 public:
  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest&) override {
    return proto::RegisterResponse();
  }
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest&) override {
    proto::PollTaskResponse r;
    r.set_retry_after_millis(100);
    return r;
  }
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest&) override {
    return absl::OutOfRangeError("past the end");
  }
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest&) override {
    return proto::UploadResponse();
  }
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport&) override {
    return proto::ReportResponse();
  }
};

void CheckDecoders(std::string_view payload) {
  absl::StatusOr<mqtt::RequestEnvelope> request = mqtt::DecodeRequest(payload, kMaxBytes);
  if (request.ok()) {
    FEDGE_FUZZ_CHECK(mqtt::EncodeRequest(request->request_id, request->payload) == payload,
                     "a decoded request does not re-encode to its bytes");
  } else {
    FEDGE_FUZZ_CHECK(absl::IsInvalidArgument(request.status()), "DecodeRequest failed with another code");
  }
  absl::StatusOr<mqtt::ResponseEnvelope> response = mqtt::DecodeResponse(payload, kMaxBytes);
  if (response.ok()) {
    FEDGE_FUZZ_CHECK(mqtt::EncodeResponse(response->request_id, response->status, response->payload) == payload,
                     "a decoded response does not re-encode to its bytes");
  } else {
    FEDGE_FUZZ_CHECK(absl::IsInvalidArgument(response.status()), "DecodeResponse failed with another code");
  }
}

void CheckHandler(std::string_view topic, std::string_view payload) {
  AnsweringTransport transport;
  const mqtt::TopicLayout topics("fedge");
  const mqtt::BridgeHandler handler(&transport, nullptr, topics, kMaxBytes);
  int replies = 0;
  std::string reply_topic, reply;
  const absl::Status status = handler.Handle(topic, payload, [&](std::string to, std::string bytes) {
    ++replies;
    reply_topic = std::move(to);
    reply = std::move(bytes);
  });
  FEDGE_FUZZ_CHECK(replies == (status.ok() ? 1 : 0), "answered a dropped message, or not an accepted one");
  if (!status.ok()) {
    FEDGE_FUZZ_CHECK(absl::IsInvalidArgument(status), "a drop that is not kInvalidArgument");
    return;
  }
  absl::StatusOr<mqtt::RequestTopic> from = topics.ParseRequest(topic);
  FEDGE_FUZZ_CHECK(from.ok(), "answered a message on a topic that does not parse");
  FEDGE_FUZZ_CHECK(reply_topic == topics.Response(from->device_id), "answered on another device's topic");
  absl::StatusOr<mqtt::ResponseEnvelope> decoded = mqtt::DecodeResponse(reply, kMaxBytes);
  FEDGE_FUZZ_CHECK(decoded.ok(), "the answer does not decode");
  FEDGE_FUZZ_CHECK(decoded->request_id == mqtt::DecodeRequest(payload, kMaxBytes)->request_id,
                   "the answer carries another request id");
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  const std::string topic(in.Bytes());
  const std::string payload(in.Rest());
  fedge::fuzz::CheckDecoders(payload);
  fedge::fuzz::CheckHandler(topic, payload);
  return 0;
}
