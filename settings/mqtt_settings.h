// File: settings/mqtt_settings.h
//
// The [mqtt] table, read the same way by `fedge-device` (with
// `coordinator.transport = "mqtt"`) and `fedge-coordinator` (the bridge
// starts when `broker` is set): how to reach the MQTT broker that carries
// the Transport (mqtt/README.md). docs/configuration.md lists the keys.
//
//   [mqtt]
//   broker = "ssl://broker.example:8883"   # TLS only
//   ca = "certs/broker-ca.pem"             # trusted for the broker
//   cert = "..."  key = "..."              # this client's certificate
//   client_id = ""                         # coordinator: "fedge-coordinator"
//   topic_prefix = "fedge"
//   session_expiry_s = 3600  keep_alive_s = 30
//
// On a device `ca`, `cert` and `key` default to coordinator.root_cert,
// coordinator.tls_cert and coordinator.tls_key (the same files gRPC uses),
// and the client id is always the device id.
//
// Plain data and free functions; thread-compatible. LibTorch-free.
#ifndef FEDGE_SETTINGS_MQTT_SETTINGS_H_
#define FEDGE_SETTINGS_MQTT_SETTINGS_H_

#include <string>

#include "core/config.h"

namespace fedge {

struct MqttSettings {
  std::string broker;
  std::string ca;
  std::string cert;
  std::string key;
  std::string client_id;
  std::string topic_prefix = "fedge";
  double session_expiry_s = 3600;
  double keep_alive_s = 30;
};

// Reads the table's keys over `*settings` (absent keys keep their value);
// ranges and unknown keys are reported through the ConfigFile.
void ReadMqttTable(ConfigSection mqtt, MqttSettings* settings);

}  // namespace fedge

#endif  // FEDGE_SETTINGS_MQTT_SETTINGS_H_
