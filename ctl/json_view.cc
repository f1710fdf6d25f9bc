#include "ctl/json_view.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace fedge::ctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// "DeviceStatus" -> "DEVICE_STATUS_".
std::string UpperSnakePrefix(const std::string& type_name) {
  std::string out;
  for (size_t i = 0; i < type_name.size(); ++i) {
    const char c = type_name[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) out.push_back('_');
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  out.push_back('_');
  return out;
}

nlohmann::json Scalar(const Message& m, const Reflection& r, const FieldDescriptor& f) {
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return r.GetInt32(m, &f);
    case FieldDescriptor::CPPTYPE_INT64: return r.GetInt64(m, &f);
    case FieldDescriptor::CPPTYPE_UINT32: return r.GetUInt32(m, &f);
    case FieldDescriptor::CPPTYPE_UINT64: return r.GetUInt64(m, &f);
    case FieldDescriptor::CPPTYPE_DOUBLE: return r.GetDouble(m, &f);
    case FieldDescriptor::CPPTYPE_FLOAT: return r.GetFloat(m, &f);
    case FieldDescriptor::CPPTYPE_BOOL: return r.GetBool(m, &f);
    case FieldDescriptor::CPPTYPE_ENUM: return EnumJsonName(*r.GetEnum(m, &f));
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string s = r.GetString(m, &f);
      return f.type() == FieldDescriptor::TYPE_BYTES ? absl::Base64Escape(s) : s;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: return ToJson(r.GetMessage(m, &f));
  }
  return nullptr;
}

nlohmann::json Element(const Message& m, const Reflection& r, const FieldDescriptor& f, int i) {
  switch (f.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return r.GetRepeatedInt32(m, &f, i);
    case FieldDescriptor::CPPTYPE_INT64: return r.GetRepeatedInt64(m, &f, i);
    case FieldDescriptor::CPPTYPE_UINT32: return r.GetRepeatedUInt32(m, &f, i);
    case FieldDescriptor::CPPTYPE_UINT64: return r.GetRepeatedUInt64(m, &f, i);
    case FieldDescriptor::CPPTYPE_DOUBLE: return r.GetRepeatedDouble(m, &f, i);
    case FieldDescriptor::CPPTYPE_FLOAT: return r.GetRepeatedFloat(m, &f, i);
    case FieldDescriptor::CPPTYPE_BOOL: return r.GetRepeatedBool(m, &f, i);
    case FieldDescriptor::CPPTYPE_ENUM: return EnumJsonName(*r.GetRepeatedEnum(m, &f, i));
    case FieldDescriptor::CPPTYPE_STRING: {
      const std::string s = r.GetRepeatedString(m, &f, i);
      return f.type() == FieldDescriptor::TYPE_BYTES ? absl::Base64Escape(s) : s;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: return ToJson(r.GetRepeatedMessage(m, &f, i));
  }
  return nullptr;
}

// A map entry's key as a JSON object key.
std::string MapKey(const Message& entry) {
  const FieldDescriptor* key = entry.GetDescriptor()->map_key();
  const nlohmann::json k = Scalar(entry, *entry.GetReflection(), *key);
  return k.is_string() ? k.get<std::string>() : k.dump();
}

}  // namespace

std::string EnumJsonName(const google::protobuf::EnumValueDescriptor& value) {
  std::string name = value.name();
  const std::string prefix = UpperSnakePrefix(value.type()->name());
  if (absl::StartsWith(name, prefix) && name.size() > prefix.size()) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

nlohmann::json ToJson(const Message& message) {
  nlohmann::json out = nlohmann::json::object();
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const Reflection& r = *message.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor& f = *d->field(i);
    if (f.is_map()) {
      nlohmann::json map = nlohmann::json::object();
      const FieldDescriptor& value = *f.message_type()->map_value();
      for (int j = 0; j < r.FieldSize(message, &f); ++j) {
        const Message& entry = r.GetRepeatedMessage(message, &f, j);
        map[MapKey(entry)] = Scalar(entry, *entry.GetReflection(), value);
      }
      out[f.name()] = std::move(map);
    } else if (f.is_repeated()) {
      nlohmann::json list = nlohmann::json::array();
      for (int j = 0; j < r.FieldSize(message, &f); ++j) list.push_back(Element(message, r, f, j));
      out[f.name()] = std::move(list);
    } else {
      out[f.name()] = Scalar(message, r, f);
    }
  }
  return out;
}

}  // namespace fedge::ctl
