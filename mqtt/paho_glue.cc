#include "mqtt/paho_glue.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedge::mqtt::internal {

void FillConnectOptions(const MqttConnectionOptions& o, bool automatic_reconnect, ::mqtt::connect_options& out) {
  ::mqtt::ssl_options ssl;
  ssl.set_trust_store(o.ca_pem_path);
  ssl.set_key_store(o.cert_pem_path);
  ssl.set_private_key(o.key_pem_path);
  ssl.set_enable_server_cert_auth(true);
  ssl.set_verify(true);
  const int expiry_s = static_cast<int>(std::min<int64_t>(absl::ToInt64Seconds(o.session_expiry), INT32_MAX));
  out.set_mqtt_version(MQTTVERSION_5);
  out.set_clean_session(false);
  out.set_clean_start(false);  // keep the session: queued QoS 1 messages survive an outage
  out.set_properties({{::mqtt::property::SESSION_EXPIRY_INTERVAL, expiry_s}});
  out.set_keep_alive_interval(std::chrono::seconds(absl::ToInt64Seconds(o.keep_alive)));
  out.set_connect_timeout(std::chrono::seconds(10));
  out.set_ssl(std::move(ssl));
  out.set_automatic_reconnect(automatic_reconnect);
  if (automatic_reconnect) out.set_automatic_reconnect(std::chrono::milliseconds(100), std::chrono::seconds(2));
}

::mqtt::message_ptr Message(const std::string& topic, std::string payload, absl::Duration expiry, bool retained) {
  ::mqtt::message_ptr message = ::mqtt::make_message(topic, std::move(payload), /*qos=*/1, retained);
  if (expiry > absl::ZeroDuration()) {
    const int seconds = static_cast<int>(std::clamp<double>(std::ceil(absl::ToDoubleSeconds(expiry)), 1, INT32_MAX));
    message->set_properties({{::mqtt::property::MESSAGE_EXPIRY_INTERVAL, seconds}});
  }
  return message;
}

void Listener::on_failure(const ::mqtt::token& token) {
  on_failure_(absl::StrCat("reason code ", static_cast<int>(token.get_reason_code()), ", return code ",
                           token.get_return_code()));
}

}  // namespace fedge::mqtt::internal
