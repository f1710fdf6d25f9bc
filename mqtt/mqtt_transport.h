// File: mqtt/mqtt_transport.h
//
// `Transport` (core/transport.h) over MQTT 5 through a broker, for devices
// on intermittent links. Each call publishes its serialised request, in a
// request envelope (mqtt/envelope.h), QoS 1 to P/<device_id>/req/<rpc>
// (mqtt/topics.h) and waits up to `rpc_timeout` for the response with the
// same request id on P/<device_id>/resp, where the coordinator's MqttBridge
// answers. The response's status (code and message) becomes the call's
// absl::Status, so the device reacts exactly as over gRPC.
//
// Errors: kUnavailable while the broker cannot be reached (a call first
// waits up to `connect_wait` for the connection) or when the connection
// drops during a call; kDeadlineExceeded when no response arrives in time.
// Both are transient, so the device's retry and outbox logic applies
// unchanged; uploads are resumable and idempotent on the coordinator, so a
// request answered but whose answer was lost is safely sent again.
//
// Session: clean start off and a session expiry, so the broker keeps the
// response subscription while the device is away. Request ids start at a
// random 64-bit value per process, so a response meant for an earlier run
// (still queued in the session) matches no call and is dropped.
//
// Connection: the first call (not Create) connects; after a loss the next
// call reconnects. Requests carry a message expiry of `rpc_timeout`, so the
// broker does not deliver a request whose caller has given up.
//
// Thread-safety: safe for concurrent use; calls are independent.
#ifndef FEDGE_MQTT_MQTT_TRANSPORT_H_
#define FEDGE_MQTT_MQTT_TRANSPORT_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/transport.h"
#include "mqtt/connection.h"

namespace fedge::mqtt {

struct MqttTransportOptions {
  // Broker, TLS files and session; `connection.client_id` is the device id.
  MqttConnectionOptions connection;
  // Deadline of every call.
  absl::Duration rpc_timeout = absl::Seconds(30);
  // How long a call waits for the broker connection (and the response
  // subscription) before failing with kUnavailable; capped at rpc_timeout.
  absl::Duration connect_wait = absl::Seconds(2);
};

// Counters since creation. Bytes are MQTT payloads (envelope + protobuf)
// of successful calls, without MQTT and TLS framing.
struct MqttTransportStats {
  uint64_t calls = 0;
  uint64_t failed_calls = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

class MqttTransport final : public Transport {
 public:
  // kInvalidArgument / kNotFound for bad options (ValidateConnectionOptions,
  // non-positive timeouts). Does not connect.
  static absl::StatusOr<std::unique_ptr<MqttTransport>> Create(const MqttTransportOptions& options);
  ~MqttTransport() override;  // disconnects, keeping the broker session

  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override;
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override;
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override;
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override;
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override;
  absl::StatusOr<proto::SecAggResponse> SecAgg(const proto::SecAggRequest& request) override;

  MqttTransportStats stats() const;

 private:
  struct Impl;
  explicit MqttTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge::mqtt

#endif  // FEDGE_MQTT_MQTT_TRANSPORT_H_
