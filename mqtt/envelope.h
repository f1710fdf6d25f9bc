// File: mqtt/envelope.h
//
// The few bytes fedge puts around a protobuf message on an MQTT topic. MQTT
// carries opaque payloads and has no notion of a call, so a request names
// the call it belongs to (a request id the device chose) and a response
// repeats that id and carries the absl::Status of the call (code and
// message) before the protobuf answer. The RPC itself is named by the topic
// (mqtt/topics.h), not by the envelope.
//
// Layout (integers little-endian; documented in mqtt/README.md):
//   request : 'f' 'q' version:u8 request_id:u64 payload...
//   response: 'f' 'r' version:u8 request_id:u64 code:u8 message_len:u16
//             message[message_len] payload...
// `payload` is the serialised protobuf request or response (empty for a
// response whose code is not OK). A status message is capped at
// kMaxStatusMessageBytes (longer ones are cut when encoding).
//
// Decoding is the boundary: every byte of a payload that arrived over the
// network is checked here (magic, version, lengths, code in absl's range,
// size cap) and the result is a typed value or kInvalidArgument naming what
// was wrong. Nothing here allocates more than the input's size.
//
// Thread-safety: free functions on values.
#ifndef FEDGE_MQTT_ENVELOPE_H_
#define FEDGE_MQTT_ENVELOPE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fedge::mqtt {

inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr size_t kRequestHeaderBytes = 2 + 1 + 8;
inline constexpr size_t kMaxStatusMessageBytes = 1024;

struct RequestEnvelope {
  uint64_t request_id = 0;
  std::string_view payload;  // points into the decoded bytes
};

struct ResponseEnvelope {
  uint64_t request_id = 0;
  absl::Status status;       // OK, or the call's error (code + message)
  std::string_view payload;  // points into the decoded bytes; empty unless OK
};

std::string EncodeRequest(uint64_t request_id, std::string_view payload);
// `status` non-OK: the payload is dropped (an error carries no answer).
std::string EncodeResponse(uint64_t request_id, const absl::Status& status, std::string_view payload);

// kInvalidArgument for bytes that are not an envelope of this version, or
// longer than `max_bytes`. The views in the result point into `bytes`.
absl::StatusOr<RequestEnvelope> DecodeRequest(std::string_view bytes, size_t max_bytes);
absl::StatusOr<ResponseEnvelope> DecodeResponse(std::string_view bytes, size_t max_bytes);

}  // namespace fedge::mqtt

#endif  // FEDGE_MQTT_ENVELOPE_H_
