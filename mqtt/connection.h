// File: mqtt/connection.h
//
// What both ends need to reach the broker: `MqttConnectionOptions` (broker
// URI, TLS files, client id, session) and their validation. MQTT 5, QoS 1,
// TLS with a client certificate, and a persistent session (clean start off,
// a session expiry) so that messages queued while a client was offline are
// delivered when it comes back.
//
// The broker identifies a client by its certificate: the deployed Mosquitto
// configuration (deploy/mosquitto/) sets `use_identity_as_username`, and its
// ACL grants topics by that name, so the certificate's CN is what a client
// may publish under (mqtt/topics.h).
//
// Thread-safety: plain data and free functions.
#ifndef FEDGE_MQTT_CONNECTION_H_
#define FEDGE_MQTT_CONNECTION_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fedge::mqtt {

struct MqttConnectionOptions {
  // ssl://host:port or mqtts://host:port (TLS is required).
  std::string broker;
  // PEM certificate(s) trusted for the broker's certificate.
  std::string ca_pem_path;
  // This client's certificate and private key (PEM files); both required.
  std::string cert_pem_path;
  std::string key_pem_path;
  // The MQTT client id: the device id, or "fedge-coordinator".
  std::string client_id;
  // Topic prefix (mqtt/topics.h).
  std::string topic_prefix = "fedge";
  // How long the broker keeps this client's session (subscriptions and
  // queued QoS 1 messages) after it disconnects.
  absl::Duration session_expiry = absl::Hours(1);
  absl::Duration keep_alive = absl::Seconds(30);
  // Largest payload accepted or sent (a download chunk plus ~1 KiB).
  size_t max_message_bytes = 4 << 20;
};

// kInvalidArgument naming the first bad field; kNotFound for a missing
// file; the certificate/key pair is loaded and checked (core/tls.h), so a
// mismatched pair fails here, not in the TLS handshake.
absl::Status ValidateConnectionOptions(const MqttConnectionOptions& options);

}  // namespace fedge::mqtt

#endif  // FEDGE_MQTT_CONNECTION_H_
