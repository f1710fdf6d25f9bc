#include "mqtt/topics.h"

#include <array>
#include <utility>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "absl/strings/str_split.h"

namespace fedge::mqtt {
namespace {

constexpr size_t kMaxDeviceIdBytes = 128;
constexpr std::array<std::pair<Rpc, std::string_view>, 6> kRpcNames = {{
    {Rpc::kRegister, "register"},
    {Rpc::kPollTask, "poll"},
    {Rpc::kDownload, "download"},
    {Rpc::kUpload, "upload"},
    {Rpc::kReport, "report"},
    {Rpc::kSecAgg, "secagg"},
}};

bool HasTopicSpecial(std::string_view s) {
  return s.find_first_of(std::string_view("/+#\0", 4)) != std::string_view::npos;
}

}  // namespace

std::string_view RpcName(Rpc rpc) {
  for (const auto& [r, name] : kRpcNames) {
    if (r == rpc) return name;
  }
  return "unknown";
}

absl::Status ValidateDeviceId(std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("device id is empty");
  if (id.size() > kMaxDeviceIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("device id of ", id.size(), " bytes exceeds ", kMaxDeviceIdBytes));
  }
  if (HasTopicSpecial(id) || id[0] == '$') {
    return absl::InvalidArgumentError(
        absl::StrCat("device id \"", absl::CEscape(AsAbsl(id)),
                     "\" cannot be an MQTT topic level: it must not hold '/', '+', '#', NUL or start with '$'"));
  }
  if (id == "model") return absl::InvalidArgumentError("device id \"model\" is reserved for model announcements");
  return absl::OkStatus();
}

absl::Status ValidateTopicPrefix(std::string_view prefix) {
  if (prefix.empty() || prefix[0] == '$') {
    return absl::InvalidArgumentError("mqtt.topic_prefix must be non-empty and not start with '$', e.g. \"fedge\"");
  }
  for (absl::string_view level : absl::StrSplit(AsAbsl(prefix), '/')) {
    if (level.empty() || HasTopicSpecial(std::string_view(level.data(), level.size()))) {
      return absl::InvalidArgumentError(absl::StrCat("mqtt.topic_prefix \"", AsAbsl(prefix),
                                                     "\" has an empty level or a wildcard ('+', '#')"));
    }
  }
  return absl::OkStatus();
}

std::string TopicLayout::Request(std::string_view device_id, Rpc rpc) const {
  return absl::StrCat(prefix_, "/", AsAbsl(device_id), "/req/",
                      AsAbsl(RpcName(rpc)));
}

std::string TopicLayout::Response(std::string_view device_id) const {
  return absl::StrCat(prefix_, "/", AsAbsl(device_id), "/resp");
}

std::string TopicLayout::Announce() const { return absl::StrCat(prefix_, "/model/announce"); }

std::string TopicLayout::AllRequests() const { return absl::StrCat(prefix_, "/+/req/+"); }

absl::StatusOr<RequestTopic> TopicLayout::ParseRequest(std::string_view topic) const {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("topic \"", absl::CEscape(AsAbsl(topic)),
                                                   "\" is not ", prefix_, "/<device_id>/req/<rpc>"));
  };
  if (topic.size() <= prefix_.size() + 1 || topic.substr(0, prefix_.size()) != prefix_ ||
      topic[prefix_.size()] != '/') {
    return bad();
  }
  const std::vector<absl::string_view> levels =
      absl::StrSplit(absl::string_view(topic.data() + prefix_.size() + 1, topic.size() - prefix_.size() - 1), '/');
  if (levels.size() != 3 || levels[1] != "req") return bad();
  RequestTopic parsed;
  parsed.device_id = std::string(levels[0]);
  if (absl::Status valid = ValidateDeviceId(parsed.device_id); !valid.ok()) return bad();
  for (const auto& [rpc, name] : kRpcNames) {
    if (levels[2] == AsAbsl(name)) {
      parsed.rpc = rpc;
      return parsed;
    }
  }
  return bad();
}

}  // namespace fedge::mqtt
