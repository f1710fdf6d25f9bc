#include "mqtt/mqtt_bridge.h"

#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/status.h"
#include "mqtt/paho_glue.h"
#include "mqtt/topics.h"

namespace fedge::mqtt {

// Shared with the reply callbacks: an upload answered by the store's writer
// after the bridge is gone still finds a client (its publish then fails and
// the device retries).
struct MqttBridge::Impl : std::enable_shared_from_this<MqttBridge::Impl> {
  Impl(const MqttConnectionOptions& opts, Transport* transport, UploadAsyncFn upload_async)
      : options(opts),
        topics(opts.topic_prefix),
        handler(transport, std::move(upload_async), TopicLayout(opts.topic_prefix), opts.max_message_bytes),
        client(opts.broker, opts.client_id, ::mqtt::create_options(MQTTVERSION_5)) {}

  void OnMessage(const ::mqtt::const_message_ptr& message);
  void Publish(const std::string& topic, std::string payload, bool retained);
  void Subscribe();

  const MqttConnectionOptions options;
  const TopicLayout topics;
  const BridgeHandler handler;
  ::mqtt::async_client client;
  ::mqtt::connect_options connect_options;  // outlives every connect (paho_glue.h)
  std::atomic<uint64_t> handled{0}, dropped{0};
};

void MqttBridge::Impl::Publish(const std::string& topic, std::string payload, bool retained) {
  try {
    client.publish(internal::Message(topic, std::move(payload), absl::ZeroDuration(), retained));
  } catch (const ::mqtt::exception& e) {
    // The device's call times out and it retries; nothing is lost here.
    FEDGE_LOG(WARNING) << "MQTT: could not publish on " << topic << ": " << e.what();
  }
}

void MqttBridge::Impl::OnMessage(const ::mqtt::const_message_ptr& message) {
  const absl::Status status =
      handler.Handle(message->get_topic(), message->get_payload_ref().str(),
                     [self = shared_from_this()](std::string topic, std::string payload) {
                       self->Publish(topic, std::move(payload), /*retained=*/false);
                     });
  if (status.ok()) {
    handled.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  dropped.fetch_add(1, std::memory_order_relaxed);
  FEDGE_LOG(WARNING) << "MQTT: dropped a message on " << message->get_topic() << ": " << status.message();
}

void MqttBridge::Impl::Subscribe() {
  try {
    client.subscribe(topics.AllRequests(), 1);
  } catch (const ::mqtt::exception& e) {
    FEDGE_LOG(ERROR) << "MQTT: subscribing to " << topics.AllRequests() << " failed: " << e.what();
  }
}

absl::StatusOr<std::unique_ptr<MqttBridge>> MqttBridge::Start(const MqttConnectionOptions& options,
                                                              Transport* transport, UploadAsyncFn upload_async) {
  if (transport == nullptr) return absl::InvalidArgumentError("MqttBridge needs a transport (the Federation)");
  FEDGE_RETURN_IF_ERROR(ValidateConnectionOptions(options));
  auto impl = std::make_shared<Impl>(options, transport, std::move(upload_async));
  Impl* raw = impl.get();
  raw->client.set_message_callback([raw](::mqtt::const_message_ptr m) { raw->OnMessage(m); });
  raw->client.set_connection_lost_handler([raw](const std::string&) {
    FEDGE_LOG(WARNING) << "MQTT: lost the connection to " << raw->options.broker << "; reconnecting";
  });
  // Also after an automatic reconnect: a broker that lost its state
  // (restarted without persistence) no longer has the subscription.
  raw->client.set_connected_handler([raw](const std::string&) {
    FEDGE_LOG(INFO) << "MQTT: connected to " << raw->options.broker << " as " << raw->options.client_id;
    raw->Subscribe();
  });
  try {
    internal::FillConnectOptions(options, /*automatic_reconnect=*/true, raw->connect_options);
    ::mqtt::token_ptr connect = raw->client.connect(raw->connect_options);
    if (!connect->wait_for(std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat("MQTT broker ", options.broker, " did not answer within 10 s"));
    }
  } catch (const ::mqtt::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to MQTT broker ", options.broker, " as ",
                                               options.client_id, ": ", e.what(),
                                               " (check mqtt.broker, mqtt.ca, mqtt.cert and mqtt.key)"));
  }
  return std::unique_ptr<MqttBridge>(new MqttBridge(std::move(impl)));
}

MqttBridge::MqttBridge(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MqttBridge::~MqttBridge() {
  try {
    impl_->client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const ::mqtt::exception&) {
    // Stopping anyway; the broker keeps the session until it expires.
  }
}

void MqttBridge::Announce(uint64_t global_version, uint64_t deployed_version) {
  impl_->Publish(impl_->topics.Announce(),
                 absl::StrCat("{\"global_version\":", global_version, ",\"deployed_version\":", deployed_version, "}"),
                 /*retained=*/true);
}

MqttBridgeStats MqttBridge::stats() const {
  return {.handled = impl_->handled.load(), .dropped = impl_->dropped.load()};
}

}  // namespace fedge::mqtt
