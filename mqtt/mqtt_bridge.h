// File: mqtt/mqtt_bridge.h
//
// The coordinator's end of the MQTT transport: `MqttBridge` connects to the
// broker as the coordinator (client id and certificate CN
// "fedge-coordinator" by default), subscribes QoS 1 to every device's
// requests (P/+/req/+, mqtt/topics.h), hands each message to a
// BridgeHandler (validation, identity check, the Federation call; see
// bridge_handler.h) and publishes the response QoS 1 on P/<device>/resp.
// Uploads go through the upload callback (Federation::UploadAsync), so an
// update is answered only once it is durable, from the store's writer
// thread, and the broker's delivery thread is never held by a write.
//
// It also publishes the retained announcement P/model/announce,
// {"global_version":G,"deployed_version":D}, on Announce(): devices may
// subscribe to it as a wake-up hint; polling works without it.
//
// The session is persistent (clean start off) and the client reconnects
// by itself after a broker restart, subscribing again; requests the broker
// queued meanwhile are then delivered. Paho acknowledges a request to the
// broker (PUBACK) when it arrives, so one in flight when the coordinator
// stops is lost: its device's call times out and the device sends it
// again, which is safe because the Federation's calls are idempotent (an
// update resubmitted is acknowledged, not counted twice).
//
// Thread-safety: Announce() and stats() may be called from any thread.
// `transport` and `upload_async` are borrowed and must outlive the bridge.
#ifndef FEDGE_MQTT_MQTT_BRIDGE_H_
#define FEDGE_MQTT_MQTT_BRIDGE_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/transport.h"
#include "mqtt/bridge_handler.h"
#include "mqtt/connection.h"

namespace fedge::mqtt {

struct MqttBridgeStats {
  uint64_t handled = 0;   // requests answered (including error answers)
  uint64_t dropped = 0;   // messages with a bad topic or envelope
};

class MqttBridge {
 public:
  // Connects (waiting up to 10 s) and subscribes. kInvalidArgument /
  // kNotFound for bad options; kUnavailable when the broker cannot be
  // reached or refuses the connection or subscription.
  static absl::StatusOr<std::unique_ptr<MqttBridge>> Start(const MqttConnectionOptions& options,
                                                           Transport* transport, UploadAsyncFn upload_async);
  ~MqttBridge();  // disconnects; the broker keeps the session
  MqttBridge(const MqttBridge&) = delete;
  MqttBridge& operator=(const MqttBridge&) = delete;

  // Publishes the retained model announcement (logged, not returned, on
  // failure: it is a hint).
  void Announce(uint64_t global_version, uint64_t deployed_version);

  MqttBridgeStats stats() const;

 private:
  struct Impl;
  explicit MqttBridge(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace fedge::mqtt

#endif  // FEDGE_MQTT_MQTT_BRIDGE_H_
