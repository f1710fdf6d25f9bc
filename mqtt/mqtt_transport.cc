#include "mqtt/mqtt_transport.h"

#include <atomic>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/logging.h"
#include "core/random.h"
#include "core/status.h"
#include "core/strings.h"
#include "mqtt/envelope.h"
#include "mqtt/paho_glue.h"
#include "mqtt/topics.h"

namespace fedge::mqtt {
namespace {

// One call waiting for its response.
struct Pending {
  bool done = false;
  absl::Status status;
  std::string payload;
};

// Random so that responses queued for an earlier run match no call of this one.
uint64_t RandomStartId() {
  uint8_t bytes[8];
  SecureRandom::Default()->Fill(absl::MakeSpan(bytes));
  uint64_t id = 0;
  for (uint8_t b : bytes) id = (id << 8) | b;
  return id;
}

}  // namespace

struct MqttTransport::Impl {
  explicit Impl(MqttTransportOptions opts)
      : options(std::move(opts)),
        topics(options.connection.topic_prefix),
        client(options.connection.broker, options.connection.client_id, ::mqtt::create_options(MQTTVERSION_5)),
        next_id(RandomStartId()) {}

  // Connects (and subscribes to the response topic) unless connected; waits
  // up to connect_wait. kUnavailable naming the broker when not ready.
  absl::Status EnsureReady();
  void OnMessage(::mqtt::const_message_ptr message);
  void OnConnectionLost();

  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(Rpc rpc, const Request& request);

  const MqttTransportOptions options;
  const TopicLayout topics;
  ::mqtt::async_client client;
  ::mqtt::connect_options connect_options;  // outlives every connect (paho_glue.h)

  absl::Mutex mu;
  bool ready ABSL_GUARDED_BY(mu) = false;       // connected and subscribed
  bool connecting ABSL_GUARDED_BY(mu) = false;  // a connect is in flight
  std::string last_error ABSL_GUARDED_BY(mu);
  uint64_t next_id ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<uint64_t, Pending*> pending ABSL_GUARDED_BY(mu);
  // Paho keeps a reference to the listeners of in-flight actions.
  std::unique_ptr<internal::Listener> connect_listener;
  std::unique_ptr<internal::Listener> subscribe_listener;

  std::atomic<uint64_t> calls{0}, failed_calls{0}, bytes_sent{0}, bytes_received{0};
};

absl::Status MqttTransport::Impl::EnsureReady() {
  bool start = false;
  {
    absl::MutexLock lock(&mu);
    start = !ready && !connecting;
    if (start) connecting = true;
  }
  if (start) {  // outside the lock: the listeners take it
    try {
      client.connect(connect_options, nullptr, *connect_listener);
    } catch (const ::mqtt::exception& e) {
      absl::MutexLock lock(&mu);
      connecting = false;
      last_error = e.what();
    }
  }
  absl::MutexLock lock(&mu);
  auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return ready || !connecting; };
  mu.AwaitWithTimeout(absl::Condition(&settled), std::min(options.connect_wait, options.rpc_timeout));
  if (ready) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("MQTT broker ", options.connection.broker, " not reachable",
                                             last_error.empty() ? "" : ": ", last_error));
}

void MqttTransport::Impl::OnMessage(::mqtt::const_message_ptr message) {
  const std::string& bytes = message->get_payload_ref().str();
  absl::StatusOr<ResponseEnvelope> response = DecodeResponse(bytes, options.connection.max_message_bytes);
  if (!response.ok()) {
    FEDGE_LOG(WARNING) << options.connection.client_id << ": dropped a message on " << message->get_topic() << ": "
                       << response.status().message();
    return;
  }
  absl::MutexLock lock(&mu);
  auto it = pending.find(response->request_id);
  if (it == pending.end()) return;  // the call gave up, or a duplicate QoS 1 delivery
  it->second->done = true;
  it->second->status = response->status;
  it->second->payload = std::string(response->payload);
  pending.erase(it);
}

void MqttTransport::Impl::OnConnectionLost() {
  absl::MutexLock lock(&mu);
  ready = false;
  last_error = "connection lost";
  for (auto& [id, call] : pending) {
    call->done = true;
    call->status = absl::UnavailableError(
        absl::StrCat("lost the connection to MQTT broker ", options.connection.broker, " during the call"));
  }
  pending.clear();
}

template <typename Response, typename Request>
absl::StatusOr<Response> MqttTransport::Impl::Call(Rpc rpc, const Request& request) {
  calls.fetch_add(1, std::memory_order_relaxed);
  absl::StatusOr<Response> result = [&]() -> absl::StatusOr<Response> {
    FEDGE_RETURN_IF_ERROR(EnsureReady());
    Pending call;
    uint64_t id = 0;
    std::string bytes;
    {
      absl::MutexLock lock(&mu);
      id = next_id++;
      pending[id] = &call;
    }
    bytes = EncodeRequest(id, request.SerializeAsString());
    const size_t sent = bytes.size();
    try {
      client.publish(internal::Message(topics.Request(options.connection.client_id, rpc), std::move(bytes),
                                       options.rpc_timeout, /*retained=*/false));
    } catch (const ::mqtt::exception& e) {
      absl::MutexLock lock(&mu);
      pending.erase(id);
      return absl::UnavailableError(absl::StrCat("MQTT publish to ", options.connection.broker, " failed: ", e.what()));
    }
    absl::MutexLock lock(&mu);
    if (!mu.AwaitWithTimeout(absl::Condition(&call.done), options.rpc_timeout)) {
      pending.erase(id);
      return absl::DeadlineExceededError(absl::StrCat("no MQTT response to ", AsAbsl(RpcName(rpc)), " within ",
                                                      absl::FormatDuration(options.rpc_timeout)));
    }
    FEDGE_RETURN_IF_ERROR(call.status);
    Response response;
    if (!response.ParseFromString(call.payload)) {
      return absl::InternalError(absl::StrCat("the MQTT response to ", AsAbsl(RpcName(rpc)), " does not parse"));
    }
    bytes_sent.fetch_add(sent, std::memory_order_relaxed);
    bytes_received.fetch_add(call.payload.size(), std::memory_order_relaxed);
    return response;
  }();
  if (!result.ok()) failed_calls.fetch_add(1, std::memory_order_relaxed);
  return result;
}

absl::StatusOr<std::unique_ptr<MqttTransport>> MqttTransport::Create(const MqttTransportOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateConnectionOptions(options.connection));
  if (options.rpc_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("MqttTransportOptions.rpc_timeout must be positive");
  }
  if (options.connect_wait < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("MqttTransportOptions.connect_wait must be >= 0");
  }
  auto impl = std::make_unique<Impl>(options);
  Impl* raw = impl.get();
  internal::FillConnectOptions(options.connection, /*automatic_reconnect=*/false, raw->connect_options);
  // Subscribing is part of becoming ready: a request sent before the
  // response subscription exists could have its answer dropped by the broker.
  raw->subscribe_listener = std::make_unique<internal::Listener>(
      [raw] {
        absl::MutexLock lock(&raw->mu);
        raw->ready = true;
        raw->connecting = false;
        raw->last_error.clear();
      },
      [raw](const std::string& why) {
        absl::MutexLock lock(&raw->mu);
        raw->connecting = false;
        raw->last_error = absl::StrCat("subscribing to the response topic failed (", why, ")");
      });
  raw->connect_listener = std::make_unique<internal::Listener>(
      [raw] {
        try {
          raw->client.subscribe(raw->topics.Response(raw->options.connection.client_id), 1, nullptr,
                                *raw->subscribe_listener);
        } catch (const ::mqtt::exception& e) {
          absl::MutexLock lock(&raw->mu);
          raw->connecting = false;
          raw->last_error = e.what();
        }
      },
      [raw](const std::string& why) {
        absl::MutexLock lock(&raw->mu);
        raw->connecting = false;
        raw->last_error = absl::StrCat("connect failed (", why, "; check the broker address and TLS files)");
      });
  raw->client.set_message_callback([raw](::mqtt::const_message_ptr m) { raw->OnMessage(std::move(m)); });
  raw->client.set_connection_lost_handler([raw](const std::string&) { raw->OnConnectionLost(); });
  raw->client.set_disconnected_handler(
      [raw](const ::mqtt::properties&, ::mqtt::ReasonCode) { raw->OnConnectionLost(); });
  return std::unique_ptr<MqttTransport>(new MqttTransport(std::move(impl)));
}

MqttTransport::MqttTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MqttTransport::~MqttTransport() {
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(std::chrono::seconds(2));
  } catch (const ::mqtt::exception&) {
    // Leaving anyway; the broker keeps the session until it expires.
  }
}

absl::StatusOr<proto::RegisterResponse> MqttTransport::Register(const proto::RegisterRequest& request) {
  return impl_->Call<proto::RegisterResponse>(Rpc::kRegister, request);
}
absl::StatusOr<proto::PollTaskResponse> MqttTransport::PollTask(const proto::PollTaskRequest& request) {
  return impl_->Call<proto::PollTaskResponse>(Rpc::kPollTask, request);
}
absl::StatusOr<proto::DownloadResponse> MqttTransport::Download(const proto::DownloadRequest& request) {
  return impl_->Call<proto::DownloadResponse>(Rpc::kDownload, request);
}
absl::StatusOr<proto::UploadResponse> MqttTransport::Upload(const proto::UploadRequest& request) {
  return impl_->Call<proto::UploadResponse>(Rpc::kUpload, request);
}
absl::StatusOr<proto::ReportResponse> MqttTransport::Report(const proto::DeviceReport& report) {
  return impl_->Call<proto::ReportResponse>(Rpc::kReport, report);
}

absl::StatusOr<proto::SecAggResponse> MqttTransport::SecAgg(const proto::SecAggRequest& request) {
  return impl_->Call<proto::SecAggResponse>(Rpc::kSecAgg, request);
}

MqttTransportStats MqttTransport::stats() const {
  return {.calls = impl_->calls.load(), .failed_calls = impl_->failed_calls.load(),
          .bytes_sent = impl_->bytes_sent.load(), .bytes_received = impl_->bytes_received.load()};
}

}  // namespace fedge::mqtt
