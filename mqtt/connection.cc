#include "mqtt/connection.h"

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/tls.h"
#include "mqtt/topics.h"

namespace fedge::mqtt {

absl::Status ValidateConnectionOptions(const MqttConnectionOptions& o) {
  auto bad = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (!absl::StartsWith(o.broker, "ssl://") && !absl::StartsWith(o.broker, "mqtts://")) {
    return bad("mqtt.broker \"", o.broker, "\" must be ssl://host:port or mqtts://host:port (TLS is required)");
  }
  if (o.ca_pem_path.empty()) return bad("mqtt.ca: the PEM certificate(s) to trust for the broker is required");
  if (!std::filesystem::exists(o.ca_pem_path)) {
    return absl::NotFoundError(absl::StrCat("mqtt.ca: ", o.ca_pem_path, " does not exist"));
  }
  if (o.cert_pem_path.empty() || o.key_pem_path.empty()) {
    return bad("mqtt.cert and mqtt.key: the broker identifies clients by certificate; give both");
  }
  FEDGE_RETURN_IF_ERROR(LoadKeyCertPair(o.cert_pem_path, o.key_pem_path).status());
  FEDGE_RETURN_IF_ERROR(ValidateDeviceId(o.client_id));
  FEDGE_RETURN_IF_ERROR(ValidateTopicPrefix(o.topic_prefix));
  if (o.session_expiry < absl::Seconds(1)) return bad("mqtt.session_expiry_s must be >= 1");
  if (o.keep_alive < absl::Seconds(1)) return bad("mqtt.keep_alive_s must be >= 1");
  if (o.max_message_bytes < (64 << 10)) return bad("mqtt max_message_bytes is below 64 KiB");
  return absl::OkStatus();
}

}  // namespace fedge::mqtt
