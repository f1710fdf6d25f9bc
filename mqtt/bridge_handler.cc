#include "mqtt/bridge_handler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/strings.h"
#include "mqtt/envelope.h"

namespace fedge::mqtt {
namespace {

// The device id a request claims, for the identity check.
const std::string& ClaimedId(const proto::RegisterRequest& r) { return r.device().device_id(); }
template <typename Request>
const std::string& ClaimedId(const Request& r) {
  return r.device_id();
}

// Parses the request, checks its claimed identity, calls `serve` and sends
// the answer. `serve(request, answer)` must call `answer` exactly once.
template <typename Request, typename Serve>
void Dispatch(std::string_view payload, const RequestTopic& from, Serve serve,
              absl::AnyInvocable<void(const absl::Status&, std::string) &&> answer) {
  Request request;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    std::move(answer)(absl::InvalidArgumentError(absl::StrCat("the ", AsAbsl(RpcName(from.rpc)),
                                                              " request does not parse as its protobuf message")),
                      "");
    return;
  }
  if (ClaimedId(request) != from.device_id) {
    std::move(answer)(absl::PermissionDeniedError(absl::StrCat("request for device_id \"", ClaimedId(request),
                                                               "\" arrived on the topic of device \"",
                                                               from.device_id, "\"; a device acts only as itself")),
                      "");
    return;
  }
  serve(request, std::move(answer));
}

// Wraps a synchronous Transport method as a Serve.
template <typename Response, typename Request>
auto Sync(absl::StatusOr<Response> (Transport::*method)(const Request&), Transport* transport) {
  return [method, transport](const Request& request, auto answer) {
    absl::StatusOr<Response> response = (transport->*method)(request);
    if (!response.ok()) return std::move(answer)(response.status(), "");
    std::move(answer)(absl::OkStatus(), response->SerializeAsString());
  };
}

}  // namespace

absl::Status BridgeHandler::Handle(std::string_view topic, std::string_view payload, const ReplyFn& reply) const {
  absl::StatusOr<RequestTopic> from = topics_.ParseRequest(topic);
  if (!from.ok()) return from.status();
  absl::StatusOr<RequestEnvelope> envelope = DecodeRequest(payload, max_message_bytes_);
  if (!envelope.ok()) return envelope.status();

  auto answer = [reply, id = envelope->request_id, to = topics_.Response(from->device_id)](
                    const absl::Status& status, std::string response) {
    reply(to, EncodeResponse(id, status, response));
  };
  switch (from->rpc) {
    case Rpc::kRegister:
      Dispatch<proto::RegisterRequest>(envelope->payload, *from, Sync(&Transport::Register, transport_), answer);
      break;
    case Rpc::kPollTask:
      Dispatch<proto::PollTaskRequest>(envelope->payload, *from, Sync(&Transport::PollTask, transport_), answer);
      break;
    case Rpc::kDownload:
      Dispatch<proto::DownloadRequest>(envelope->payload, *from, Sync(&Transport::Download, transport_), answer);
      break;
    case Rpc::kReport:
      Dispatch<proto::DeviceReport>(envelope->payload, *from, Sync(&Transport::Report, transport_), answer);
      break;
    case Rpc::kSecAgg:
      Dispatch<proto::SecAggRequest>(envelope->payload, *from, Sync(&Transport::SecAgg, transport_), answer);
      break;
    case Rpc::kUpload:
      if (!upload_async_) {
        Dispatch<proto::UploadRequest>(envelope->payload, *from, Sync(&Transport::Upload, transport_), answer);
        break;
      }
      // Answered once the update is durable, on the store's writer thread.
      Dispatch<proto::UploadRequest>(
          envelope->payload, *from,
          [this](const proto::UploadRequest& request, auto done) {
            upload_async_(request, [done = std::move(done)](absl::StatusOr<proto::UploadResponse> response) mutable {
              if (!response.ok()) return std::move(done)(response.status(), "");
              std::move(done)(absl::OkStatus(), response->SerializeAsString());
            });
          },
          answer);
      break;
  }
  return absl::OkStatus();
}

}  // namespace fedge::mqtt
