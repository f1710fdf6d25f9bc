#include "client/inference_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "core/logging.h"

namespace fedge {
namespace {

// Reads exactly `size` bytes; false on EOF, timeout or error.
bool ReadAll(int fd, void* out, size_t size) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteAll(int fd, const std::string& bytes) {
  const char* p = bytes.data();
  size_t size = bytes.size();
  while (size > 0) {
    const ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void AppendU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string Answer(const absl::Status& status, int label, absl::Span<const float> probabilities) {
  std::string out;
  AppendU32(out, static_cast<uint32_t>(status.code()));
  if (!status.ok()) {
    AppendU32(out, static_cast<uint32_t>(status.message().size()));
    out.append(status.message().data(), status.message().size());
    return out;
  }
  AppendU32(out, static_cast<uint32_t>(label));
  AppendU32(out, static_cast<uint32_t>(probabilities.size()));
  out.append(reinterpret_cast<const char*>(probabilities.data()), probabilities.size() * sizeof(float));
  return out;
}

uint32_t LittleEndianU32(const unsigned char b[4]) {
  return static_cast<uint32_t>(b[0]) | static_cast<uint32_t>(b[1]) << 8 | static_cast<uint32_t>(b[2]) << 16 |
         static_cast<uint32_t>(b[3]) << 24;
}

}  // namespace

absl::StatusOr<std::unique_ptr<InferenceServer>> InferenceServer::Start(InferenceServerOptions options,
                                                                       ModelSlot* slot) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (options.socket_path.empty() || options.socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("inference socket path must be 1..", sizeof(address.sun_path) - 1,
                                                   " bytes, got \"", options.socket_path, "\""));
  }
  std::memcpy(address.sun_path, options.socket_path.c_str(), options.socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket(): ", std::strerror(errno)));
  unlink(options.socket_path.c_str());  // a stale socket of a previous run
  const mode_t old_mask = umask(0177);  // created 0600
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  umask(old_mask);
  if (!bound || listen(fd, 16) != 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.socket_path, ": ", error));
  }
  std::unique_ptr<InferenceServer> server(new InferenceServer(std::move(options), slot, fd));
  if (pipe2(server->wake_fds_, O_CLOEXEC) != 0) return absl::UnavailableError("cannot create the wake-up pipe");
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

InferenceServer::InferenceServer(InferenceServerOptions options, ModelSlot* slot, int listen_fd)
    : options_(std::move(options)), slot_(slot), listen_fd_(listen_fd) {}

InferenceServer::~InferenceServer() { Stop(); }

void InferenceServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    const char byte = 0;
    [[maybe_unused]] const ssize_t n = write(wake_fds_[1], &byte, 1);
    thread_.join();
  }
  close(listen_fd_);
  for (int fd : wake_fds_) {
    if (fd >= 0) close(fd);
  }
  unlink(options_.socket_path.c_str());
}

void InferenceServer::Serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;  // Stop()
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const timeval timeout = absl::ToTimeval(options_.receive_timeout);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ServeConnection(fd);
    close(fd);
  }
}

void InferenceServer::ServeConnection(int fd) {
  std::vector<float> input, probabilities;
  unsigned char header[4];
  while (WaitForRequest(fd) && ReadAll(fd, header, sizeof(header))) {
    const uint32_t n = LittleEndianU32(header);
    if (n > kMaxInferenceFloats) return;  // not a client of this protocol
    input.resize(n);
    if (!ReadAll(fd, input.data(), n * sizeof(float))) return;
    const absl::Time start = absl::Now();
    const ModelHandle model = slot_->Acquire();
    absl::Status status = model ? absl::OkStatus()
                                : absl::FailedPreconditionError("no deployed model yet: fedge-device has not installed one");
    int label = -1;
    if (status.ok()) {
      probabilities.assign(static_cast<size_t>(model.num_classes()), 0.0f);
      status = model.Classify(input, absl::MakeSpan(probabilities), &label);
    }
    // Counted before the answer leaves, so a client that has its answer
    // reads stats that include it.
    ++requests_;
    if (!status.ok()) ++errors_;
    total_latency_us_ += absl::ToInt64Microseconds(absl::Now() - start);
    if (!WriteAll(fd, Answer(status, label, status.ok() ? probabilities : std::vector<float>()))) return;
  }
}

bool InferenceServer::WaitForRequest(int fd) const {
  pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.receive_timeout));
  while (true) {
    const int ready = poll(fds, 2, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 && fds[1].revents == 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0;
  }
}

InferenceServerStats InferenceServer::stats() const {
  return {.requests = requests_.load(), .errors = errors_.load(),
          .total_latency_ms = static_cast<double>(total_latency_us_.load()) / 1000.0};
}

std::map<std::string, double> InferenceServer::ReportMetrics() const {
  const InferenceServerStats s = stats();
  std::map<std::string, double> metrics = {{"inference_requests", static_cast<double>(s.requests)},
                                           {"inference_errors", static_cast<double>(s.errors)}};
  if (s.requests > 0) metrics["inference_latency_ms"] = s.total_latency_ms / static_cast<double>(s.requests);
  return metrics;
}

}  // namespace fedge
