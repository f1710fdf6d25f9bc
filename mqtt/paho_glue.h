// File: mqtt/paho_glue.h (internal to fedge::mqtt)
//
// The Paho C++ pieces MqttTransport and MqttBridge share: connect options
// from MqttConnectionOptions, a QoS 1 message with an expiry, and an action
// listener made of two lambdas. Paho reports errors by exception; callers
// catch ::mqtt::exception at their edge, so none escapes a public API.
#ifndef FEDGE_MQTT_PAHO_GLUE_H_
#define FEDGE_MQTT_PAHO_GLUE_H_

#include <mqtt/async_client.h>

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "mqtt/connection.h"

namespace fedge::mqtt::internal {

// Fills `out` in place. Paho C++ 1.2.0's connect_options keeps a raw pointer
// to its own properties that a copy does not re-point (copies from
// connect_options_builder::finalize() crashed in MQTTAsync_connect), so
// callers keep `out` alive for the client's lifetime and pass it by lvalue.
void FillConnectOptions(const MqttConnectionOptions& options, bool automatic_reconnect, ::mqtt::connect_options& out);

// A QoS 1 message; `expiry` > 0 sets MQTT 5's message expiry interval so the
// broker drops it when nobody can use it any more.
::mqtt::message_ptr Message(const std::string& topic, std::string payload, absl::Duration expiry, bool retained);

class Listener final : public ::mqtt::iaction_listener {
 public:
  Listener(std::function<void()> on_success, std::function<void(const std::string&)> on_failure)
      : on_success_(std::move(on_success)), on_failure_(std::move(on_failure)) {}
  void on_success(const ::mqtt::token&) override { on_success_(); }
  void on_failure(const ::mqtt::token& token) override;

 private:
  std::function<void()> on_success_;
  std::function<void(const std::string&)> on_failure_;
};

}  // namespace fedge::mqtt::internal

#endif  // FEDGE_MQTT_PAHO_GLUE_H_
