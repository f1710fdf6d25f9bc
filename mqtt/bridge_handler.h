// File: mqtt/bridge_handler.h
//
// The coordinator's side of one MQTT request, without MQTT: `BridgeHandler`
// takes the topic and payload a message arrived with, validates them, calls
// the device-facing `Transport` of the coordinator (its `Federation`) and
// hands the encoded response to `reply` together with the topic to publish
// it on. `MqttBridge` (mqtt_bridge.h) feeds it from the broker; tests feed
// it directly.
//
// Validation, in order (every message a device sends passes here once):
//   1. the topic is P/<device_id>/req/<rpc> with a valid device id — else
//      the message is dropped (there is nobody to answer);
//   2. the payload is a request envelope within `max_message_bytes` — else
//      dropped (there is no request id to answer);
//   3. the protobuf request parses — else kInvalidArgument is answered;
//   4. the request's device_id equals the topic's — else kPermissionDenied
//      is answered and the Federation never sees the request. The broker's
//      ACL authenticates the topic (a device writes only under its own
//      certificate's CN), so this binds a request to its sender as the gRPC
//      service's certificate check does.
// Handle() returns why a message was dropped (for the log); answered errors
// are not drops and return OK.
//
// Ownership and threads: `transport` and the upload callback are borrowed
// and must outlive the handler. Handle() may be called concurrently. `reply`
// is called exactly once for a message that is not dropped, on the calling
// thread or, for an upload, on whatever thread `upload_async` completes on.
#ifndef FEDGE_MQTT_BRIDGE_HANDLER_H_
#define FEDGE_MQTT_BRIDGE_HANDLER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/transport.h"
#include "mqtt/topics.h"
#include "proto/fedge.pb.h"

namespace fedge::mqtt {

// Upload without blocking the caller: `done` is called once with the answer
// (Federation::UploadAsync has this shape). Null: Transport::Upload is used.
using UploadDoneFn = absl::AnyInvocable<void(absl::StatusOr<proto::UploadResponse>) &&>;
using UploadAsyncFn = std::function<void(const proto::UploadRequest&, UploadDoneFn)>;
// Publishes `payload` on `topic` (QoS 1). Called at most once per message.
using ReplyFn = std::function<void(std::string topic, std::string payload)>;

class BridgeHandler {
 public:
  BridgeHandler(Transport* transport, UploadAsyncFn upload_async, TopicLayout topics, size_t max_message_bytes)
      : transport_(transport),
        upload_async_(std::move(upload_async)),
        topics_(std::move(topics)),
        max_message_bytes_(max_message_bytes) {}

  absl::Status Handle(std::string_view topic, std::string_view payload, const ReplyFn& reply) const;

 private:
  Transport* const transport_;
  const UploadAsyncFn upload_async_;
  const TopicLayout topics_;
  const size_t max_message_bytes_;
};

}  // namespace fedge::mqtt

#endif  // FEDGE_MQTT_BRIDGE_HANDLER_H_
