// File: core/transport.h
//
// `Transport` is how a device reaches its coordinator: the six RPCs of the
// `Coordinator` service in proto/fedge.proto as a C++ interface. The device
// agent (client/device.h) is written against it and never knows which
// implementation it talks to:
//   * `GrpcTransport` (client/) sends each call over gRPC with TLS;
//   * the coordinator's `Federation` implements it directly, so a simulated
//     device calls the real round logic in-process (simulations/ wraps it to
//     count bytes and inject network faults).
// Simulation therefore never forks the round logic.
//
// Errors follow gRPC's status codes one to one: kUnavailable and
// kDeadlineExceeded are transient (retry with backoff); kInvalidArgument,
// kFailedPrecondition, kNotFound and kPermissionDenied are answers (do not
// retry the same request).
//
// Thread-safety: implementations are safe for concurrent use.
#ifndef FEDGE_CORE_TRANSPORT_H_
#define FEDGE_CORE_TRANSPORT_H_

#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "proto/fedge.pb.h"

namespace fedge {

class Transport {
 public:
  virtual ~Transport() = default;

  virtual absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) = 0;
  virtual absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) = 0;
  virtual absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) = 0;
  virtual absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) = 0;
  // Upload's answer, once final: called exactly once, with no lock of the
  // implementation held. It must not block, and must not call back into the
  // transport on that thread.
  using UploadDone = absl::AnyInvocable<void(absl::StatusOr<proto::UploadResponse>) &&>;
  // Upload without waiting: an RPC server's thread may return at once and
  // answer later (the coordinator answers once the update is durable). The
  // default answers on the calling thread.
  virtual void UploadAsync(const proto::UploadRequest& request, UploadDone done) {
    std::move(done)(Upload(request));
  }
  virtual absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) = 0;
  // Secure aggregation's stage messages (coordinator/secagg_round.h). Not
  // pure: a transport that cannot carry them answers kUnimplemented, and a
  // device then fails only the secure-aggregation tasks it is given.
  virtual absl::StatusOr<proto::SecAggResponse> SecAgg(const proto::SecAggRequest& request) {
    (void)request;
    return absl::UnimplementedError("this transport does not carry secure aggregation (SecAgg) messages");
  }
};

// The DeviceInfo attribute with which a gateway (gateway/gateway.h)
// declares, at Register, how many devices its updates combine (a decimal
// integer). The coordinator lets such an update claim that many times a
// task's per-device example cap.
inline constexpr char kGatewayDevicesAttribute[] = "gateway_devices";

// The header an update's first upload chunk carries (UploadRequest.header).
inline proto::UpdateHeader UpdateHeaderOf(const proto::EncodedUpdate& update) {
  proto::UpdateHeader h;
  h.set_round(update.round());
  h.set_task_id(update.task_id());
  h.set_base_version(update.base_version());
  h.set_layout_id(update.layout_id());
  h.set_num_elements(update.num_elements());
  h.set_codec(update.codec());
  return h;
}

// True for the codes a caller should retry after a backoff.
inline bool IsTransient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) || absl::IsAborted(status);
}

}  // namespace fedge

#endif  // FEDGE_CORE_TRANSPORT_H_
