// File: client/inference_server.h
//
// Classification for other processes on the device over a Unix-domain
// socket, from the model fedge-device serves (inference/model_slot.h). An
// application that cannot link the C API (inference/c_api/fedge_infer.h),
// or should not hold the model itself, asks fedge-device instead
// (`--inference-socket PATH`). Each request is answered by the slot's
// current model, so a newly deployed model serves the next request.
//
// Wire format (little-endian), any number of requests per connection:
//   request   u32 n, then n float32: one normalised example ([C, H, W])
//   response  u32 code (absl::StatusCode; 0 = OK), then
//               OK:    u32 label, u32 k, k float32 class probabilities
//               error: u32 length, that many bytes of message
// A request of more than kMaxInferenceFloats floats closes the connection;
// a wrong size or non-finite input gets an INVALID_ARGUMENT answer, and no
// deployed model yet FAILED_PRECONDITION. Connections are served one at a
// time with a receive timeout, so a stuck client delays others by at most
// that long. The socket file is created 0600 (only the device's user).
//
// Ownership: borrows the slot, which must outlive the server. Thread-safety:
// stats() may be called from any thread; Stop() from one thread.
#ifndef FEDGE_CLIENT_INFERENCE_SERVER_H_
#define FEDGE_CLIENT_INFERENCE_SERVER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "inference/model_slot.h"

namespace fedge {

inline constexpr uint32_t kMaxInferenceFloats = 1 << 20;

struct InferenceServerOptions {
  std::string socket_path;                          // required; an existing socket file is replaced
  absl::Duration receive_timeout = absl::Seconds(2);  // per read of a request
};

// Counters since the server started.
struct InferenceServerStats {
  int64_t requests = 0;  // answered (OK or not)
  int64_t errors = 0;    // answered with an error
  double total_latency_ms = 0;  // over answered requests, from request read to answer written
};

class InferenceServer {
 public:
  // Binds and starts serving on a background thread. kInvalidArgument for an
  // empty or too long path; kUnavailable if the socket cannot be created.
  static absl::StatusOr<std::unique_ptr<InferenceServer>> Start(InferenceServerOptions options, ModelSlot* slot);
  ~InferenceServer();  // Stop()
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  // Stops accepting, ends the connection in progress after its current
  // request, removes the socket file.
  void Stop();
  InferenceServerStats stats() const;
  // The stats as report metrics: inference_requests, inference_errors,
  // inference_latency_ms (mean).
  std::map<std::string, double> ReportMetrics() const;

 private:
  InferenceServer(InferenceServerOptions options, ModelSlot* slot, int listen_fd);
  void Serve();
  void ServeConnection(int fd);
  // True when `fd` has a request to read; false on timeout or Stop().
  bool WaitForRequest(int fd) const;

  const InferenceServerOptions options_;
  ModelSlot* const slot_;
  const int listen_fd_;
  int wake_fds_[2] = {-1, -1};  // Stop() writes to [1] to wake the accept loop
  std::atomic<int64_t> requests_{0}, errors_{0};
  std::atomic<int64_t> total_latency_us_{0};
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_INFERENCE_SERVER_H_
