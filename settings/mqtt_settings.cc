#include "settings/mqtt_settings.h"

namespace fedge {

void ReadMqttTable(ConfigSection mqtt, MqttSettings* s) {
  mqtt.Read("broker", &s->broker);
  mqtt.Read("ca", &s->ca);
  mqtt.Read("cert", &s->cert);
  mqtt.Read("key", &s->key);
  mqtt.Read("client_id", &s->client_id);
  mqtt.Read("topic_prefix", &s->topic_prefix);
  mqtt.Read("session_expiry_s", &s->session_expiry_s, 1, 365.0 * 24 * 3600);
  mqtt.Read("keep_alive_s", &s->keep_alive_s, 1, 3600);
}

}  // namespace fedge
