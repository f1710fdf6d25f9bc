// File: coordinator/testing/stub_device.h
//
// `StubDevice` is the device end of the coordinator's own service tests: a
// `Transport` (core/transport.h) that sends each call through the generated
// gRPC stub of the `Coordinator` service over TLS, with the same status
// mapping the real device transport uses (gRPC and absl share the canonical
// code numbering). It lets coordinator/ test its wire behaviour without
// linking anything from client/, which sits above it.
//
// Test-only: no retries, no reconnect tuning, options are trusted.
// Thread-safety: safe for concurrent use (gRPC channels and stubs are).
#ifndef FEDGE_COORDINATOR_TESTING_STUB_DEVICE_H_
#define FEDGE_COORDINATOR_TESTING_STUB_DEVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/transport.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {

struct StubDeviceOptions {
  std::string target;                // host:port of the coordinator
  std::string root_cert_pem_path;    // the certificate the device trusts
  std::string client_cert_pem_path;  // optional: present this certificate (mutual TLS) ...
  std::string client_key_pem_path;   // ... with this key
  absl::Duration rpc_timeout = absl::Seconds(10);
};

// Counters over all calls, as a device would keep them.
struct StubDeviceStats {
  uint64_t calls = 0;
  uint64_t failed_calls = 0;
  uint64_t bytes_sent = 0;      // requests of all calls
  uint64_t bytes_received = 0;  // responses of successful calls
};

class StubDevice final : public Transport {
 public:
  // kNotFound / kInvalidArgument when a certificate or key cannot be read.
  static absl::StatusOr<std::unique_ptr<StubDevice>> Create(const StubDeviceOptions& options);

  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request) override;
  absl::StatusOr<proto::PollTaskResponse> PollTask(const proto::PollTaskRequest& request) override;
  absl::StatusOr<proto::DownloadResponse> Download(const proto::DownloadRequest& request) override;
  absl::StatusOr<proto::UploadResponse> Upload(const proto::UploadRequest& request) override;
  absl::StatusOr<proto::ReportResponse> Report(const proto::DeviceReport& report) override;

  StubDeviceStats stats() const;

 private:
  StubDevice(std::unique_ptr<proto::Coordinator::Stub> stub, absl::Duration rpc_timeout);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(grpc::Status (proto::Coordinator::Stub::*method)(grpc::ClientContext*,
                                                                                 const Request&, Response*),
                                const Request& request);

  const std::unique_ptr<proto::Coordinator::Stub> stub_;
  const absl::Duration rpc_timeout_;
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> failed_calls_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_TESTING_STUB_DEVICE_H_
