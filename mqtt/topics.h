// File: mqtt/topics.h
//
// The MQTT topic layout of fedge (mqtt/README.md), under a prefix P
// (default "fedge"):
//   P/<device_id>/req/<rpc>   a device's requests; rpc is one of register,
//                             poll, download, upload, report
//   P/<device_id>/resp        the coordinator's responses to that device
//   P/model/announce          retained: the current global and deployed
//                             model versions (a wake-up hint for devices)
// The broker's ACL (deploy/mosquitto/acl) lets a device write only
// P/<its certificate CN>/req/# and read only P/<CN>/resp and P/model/#, so
// the device id in a request topic is authenticated by the broker.
//
// A device id must be usable as one topic level: non-empty, at most 128
// bytes, none of '/', '+', '#', '$' or NUL, and not "model" (which names the
// announcement level).
//
// Thread-safety: a TopicLayout is immutable after construction.
#ifndef FEDGE_MQTT_TOPICS_H_
#define FEDGE_MQTT_TOPICS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fedge::mqtt {

enum class Rpc { kRegister, kPollTask, kDownload, kUpload, kReport, kSecAgg };

// The topic level naming `rpc` ("register", "poll", ...).
std::string_view RpcName(Rpc rpc);

// kInvalidArgument naming the rule `device_id` breaks.
absl::Status ValidateDeviceId(std::string_view device_id);
// kInvalidArgument unless `prefix` is one or more non-empty levels without
// wildcards, not starting with '$'.
absl::Status ValidateTopicPrefix(std::string_view prefix);

struct RequestTopic {
  std::string device_id;
  Rpc rpc = Rpc::kRegister;
};

class TopicLayout {
 public:
  // Precondition: ValidateTopicPrefix(prefix) is OK.
  explicit TopicLayout(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string Request(std::string_view device_id, Rpc rpc) const;
  std::string Response(std::string_view device_id) const;
  std::string Announce() const;
  // What the coordinator subscribes to: every device's requests.
  std::string AllRequests() const;

  // Parses a topic the coordinator received on AllRequests();
  // kInvalidArgument for anything that is not P/<valid id>/req/<rpc>.
  absl::StatusOr<RequestTopic> ParseRequest(std::string_view topic) const;

 private:
  std::string prefix_;
};

}  // namespace fedge::mqtt

#endif  // FEDGE_MQTT_TOPICS_H_
