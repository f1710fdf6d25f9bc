#include "mqtt/envelope.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/strings.h"

namespace fedge::mqtt {
namespace {

constexpr char kRequestMagic[2] = {'f', 'q'};
constexpr char kResponseMagic[2] = {'f', 'r'};
// absl::StatusCode's canonical codes are 0 (OK) to 16 (UNAUTHENTICATED).
constexpr uint8_t kMaxCode = 16;

void PutLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t GetLe(std::string_view in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return value;
}

void PutHeader(std::string& out, const char (&magic)[2], uint64_t request_id) {
  out.append(magic, 2);
  out.push_back(static_cast<char>(kEnvelopeVersion));
  PutLe(out, request_id, 8);
}

// Checks size, magic and version; returns the request id.
absl::StatusOr<uint64_t> CheckHeader(std::string_view bytes, size_t max_bytes, const char (&magic)[2],
                                     std::string_view what) {
  if (bytes.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), " of ", bytes.size(), " bytes exceeds the limit of ", max_bytes, " bytes"));
  }
  if (bytes.size() < kRequestHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(AsAbsl(what), " of ", bytes.size(), " bytes is shorter than its header"));
  }
  if (bytes[0] != magic[0] || bytes[1] != magic[1]) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), " does not start with the fedge envelope magic"));
  }
  if (static_cast<uint8_t>(bytes[2]) != kEnvelopeVersion) {
    return absl::InvalidArgumentError(absl::StrCat(AsAbsl(what), " has envelope version ",
                                                   static_cast<int>(static_cast<uint8_t>(bytes[2])),
                                                   "; this build speaks version ", static_cast<int>(kEnvelopeVersion)));
  }
  return GetLe(bytes.substr(3), 8);
}

}  // namespace

std::string EncodeRequest(uint64_t request_id, std::string_view payload) {
  std::string out;
  out.reserve(kRequestHeaderBytes + payload.size());
  PutHeader(out, kRequestMagic, request_id);
  out.append(payload.data(), payload.size());
  return out;
}

std::string EncodeResponse(uint64_t request_id, const absl::Status& status, std::string_view payload) {
  const std::string_view message =
      std::string_view(status.message().data(), std::min(status.message().size(), kMaxStatusMessageBytes));
  std::string out;
  out.reserve(kRequestHeaderBytes + 3 + message.size() + (status.ok() ? payload.size() : 0));
  PutHeader(out, kResponseMagic, request_id);
  out.push_back(static_cast<char>(static_cast<uint8_t>(status.code())));
  PutLe(out, message.size(), 2);
  out.append(message.data(), message.size());
  if (status.ok()) out.append(payload.data(), payload.size());
  return out;
}

absl::StatusOr<RequestEnvelope> DecodeRequest(std::string_view bytes, size_t max_bytes) {
  absl::StatusOr<uint64_t> id = CheckHeader(bytes, max_bytes, kRequestMagic, "MQTT request");
  if (!id.ok()) return id.status();
  return RequestEnvelope{.request_id = *id, .payload = bytes.substr(kRequestHeaderBytes)};
}

absl::StatusOr<ResponseEnvelope> DecodeResponse(std::string_view bytes, size_t max_bytes) {
  absl::StatusOr<uint64_t> id = CheckHeader(bytes, max_bytes, kResponseMagic, "MQTT response");
  if (!id.ok()) return id.status();
  std::string_view rest = bytes.substr(kRequestHeaderBytes);
  if (rest.size() < 3) return absl::InvalidArgumentError("MQTT response is cut short before its status");
  const uint8_t code = static_cast<uint8_t>(rest[0]);
  if (code > kMaxCode) {
    return absl::InvalidArgumentError(
        absl::StrCat("MQTT response carries status code ", static_cast<int>(code), ", not 0 to 16"));
  }
  const size_t message_len = GetLe(rest.substr(1), 2);
  rest.remove_prefix(3);
  if (message_len > kMaxStatusMessageBytes || message_len > rest.size()) {
    return absl::InvalidArgumentError(absl::StrCat("MQTT response claims a status message of ", message_len,
                                                   " bytes; ", rest.size(), " remain (at most ",
                                                   kMaxStatusMessageBytes, " allowed)"));
  }
  ResponseEnvelope envelope{.request_id = *id, .status = absl::OkStatus(), .payload = {}};
  const std::string_view message = rest.substr(0, message_len);
  rest.remove_prefix(message_len);
  if (code == 0 && !message.empty()) return absl::InvalidArgumentError("MQTT OK response carries a status message");
  if (code == 0) {
    envelope.payload = rest;
  } else {
    if (!rest.empty()) return absl::InvalidArgumentError("MQTT error response carries a payload");
    envelope.status = absl::Status(static_cast<absl::StatusCode>(code), AsAbsl(message));
  }
  return envelope;
}

}  // namespace fedge::mqtt
