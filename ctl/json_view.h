// File: ctl/json_view.h
//
// fedgectl's --json output: any protobuf message as a JSON object with the
// proto's field names, every field present (defaults included), 64-bit
// integers as JSON numbers (not the strings of the proto3 JSON mapping, so
// scripts compare them directly), enums as lower-case names without the
// type prefix (DeviceStatus DEVICE_STATUS_ACTIVE -> "active"), maps as
// objects and bytes as base64.
//
// Thread-safety: pure functions.
#ifndef FEDGE_CTL_JSON_VIEW_H_
#define FEDGE_CTL_JSON_VIEW_H_

#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

namespace fedge::ctl {

nlohmann::json ToJson(const google::protobuf::Message& message);

// The JSON name of an enum value: lower case, the prefix that spells the
// enum's type in upper snake case removed ("DEVICE_STATUS_OFFLINE" of
// DeviceStatus -> "offline").
std::string EnumJsonName(const google::protobuf::EnumValueDescriptor& value);

}  // namespace fedge::ctl

#endif  // FEDGE_CTL_JSON_VIEW_H_
