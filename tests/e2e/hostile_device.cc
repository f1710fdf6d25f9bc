// fedge-hostile-device: a device that attacks the coordinator over gRPC, for
// the hostile-device end-to-end test (tests/e2e/hostile_device_test.sh).
// It registers like any device, then for each attack waits for a task,
// downloads and verifies the global model (to learn its layout), and
// uploads a crafted update:
//   overflow  0.9 * FLT_MAX in one coordinate, claiming 2 examples: finite,
//             but the weighted sum overflows a float accumulator;
//   metrics   a zero delta carrying a NaN metric and a 60 kB metric name;
//   stale     (a coordinator in async mode) a valid zero delta held back
//             until the coordinator no longer serves the task's base version,
//             i.e. until it is beyond the staleness bound, then sent twice.
// It prints one line per attack and exits 0 only if the coordinator refused
// every attack as it should: INVALID_ARGUMENT for the first two,
// FAILED_PRECONDITION naming the staleness bound (both times) for stale.
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/grpc_transport.h"
#include "core/artifact.h"
#include "core/signing.h"
#include "core/status.h"

namespace fedge {
namespace {

struct Flags {
  GrpcTransportOptions transport;
  std::string device_id;
  std::string coordinator_key;
  std::vector<std::string> attacks = {"overflow", "metrics"};
};

absl::StatusOr<proto::Task> WaitForTask(Transport& transport, const std::string& device_id) {
  proto::PollTaskRequest poll;
  poll.set_device_id(device_id);
  poll.set_eligible(true);
  for (int attempt = 0; attempt < 3000; ++attempt) {  // bounded: at most a few minutes
    FEDGE_ASSIGN_OR_RETURN(proto::PollTaskResponse response, transport.PollTask(poll));
    if (response.has_task()) return response.task();
    absl::SleepFor(absl::Milliseconds(response.retry_after_millis()));
  }
  return absl::DeadlineExceededError("no task was offered");
}

absl::StatusOr<ModelParams> DownloadModel(Transport& transport, const Flags& flags, const proto::Task& task) {
  std::string artifact;
  while (artifact.size() < task.model_size_bytes()) {
    proto::DownloadRequest request;
    request.set_device_id(flags.device_id);
    request.set_model_version(task.model_version());
    request.set_offset(artifact.size());
    FEDGE_ASSIGN_OR_RETURN(proto::DownloadResponse chunk, transport.Download(request));
    if (chunk.data().empty()) return absl::DataLossError("empty download chunk");
    artifact += chunk.data();
  }
  FEDGE_ASSIGN_OR_RETURN(VerifyKey key, VerifyKey::FromPemFile(flags.coordinator_key));
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, OpenArtifact(artifact, key));
  return ParamsFromBody(body);
}

proto::EncodedUpdate Craft(const std::string& attack, const proto::Task& task, const ModelParams& model) {
  std::vector<float> delta(model.values.size(), 0.0f);
  proto::EncodedUpdate u;
  u.set_num_examples(1);
  if (attack == "overflow") {
    delta[0] = 0.9f * std::numeric_limits<float>::max();
    u.set_num_examples(2);
  } else if (attack == "metrics") {
    (*u.mutable_metrics())["train_loss"] = std::numeric_limits<double>::quiet_NaN();
    (*u.mutable_metrics())[std::string(60000, 'k')] = 1;
  }
  u.set_round(task.round());
  u.set_task_id(task.task_id());
  u.set_base_version(task.model_version());
  u.set_layout_id(model.layout.id());
  u.set_num_elements(delta.size());
  u.set_codec("fp32");
  u.set_payload(std::string(reinterpret_cast<const char*>(delta.data()), delta.size() * sizeof(float)));
  return u;
}

// Waits (bounded) until the coordinator stops serving the task's base
// version: it keeps the versions within its staleness bound, so the task is
// then too stale.
absl::Status WaitUntilBaseNotServed(Transport& transport, const Flags& flags, const proto::Task& task) {
  proto::DownloadRequest probe;
  probe.set_device_id(flags.device_id);
  probe.set_model_version(task.model_version());
  probe.set_max_bytes(1);
  for (int attempt = 0; attempt < 6000; ++attempt) {  // at most about 10 minutes
    absl::StatusOr<proto::DownloadResponse> chunk = transport.Download(probe);
    if (absl::IsFailedPrecondition(chunk.status())) return absl::OkStatus();
    FEDGE_RETURN_IF_ERROR(chunk.status());
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError("the coordinator kept serving the task's base version");
}

// The stale attack's two answers must both name the staleness bound.
absl::Status StaleAttack(Transport& transport, const Flags& flags, const proto::Task& task,
                         const proto::UploadRequest& upload) {
  FEDGE_RETURN_IF_ERROR(WaitUntilBaseNotServed(transport, flags, task));
  for (int send = 1; send <= 2; ++send) {
    absl::StatusOr<proto::UploadResponse> answer = transport.Upload(upload);
    std::printf("attack stale (task %s, base version %llu), send %d: %s\n", task.task_id().c_str(),
                static_cast<unsigned long long>(task.model_version()), send,
                answer.ok() ? "ACCEPTED" : answer.status().ToString().c_str());
    if (!absl::IsFailedPrecondition(answer.status()) ||
        answer.status().message().find("max_staleness") == std::string_view::npos) {
      return absl::InternalError("the stale update was not refused for its staleness");
    }
  }
  return absl::OkStatus();
}

// OK when the coordinator refused the attack as it should.
absl::Status Attack(Transport& transport, const Flags& flags, const std::string& attack) {
  if (attack != "overflow" && attack != "metrics" && attack != "stale") {
    return absl::InvalidArgumentError("unknown attack " + attack);
  }
  FEDGE_ASSIGN_OR_RETURN(proto::Task task, WaitForTask(transport, flags.device_id));
  FEDGE_ASSIGN_OR_RETURN(ModelParams model, DownloadModel(transport, flags, task));
  const std::string bytes = Craft(attack, task, model).SerializeAsString();
  proto::UploadRequest upload;
  upload.set_device_id(flags.device_id);
  upload.set_task_id(task.task_id());
  upload.set_data(bytes);
  upload.set_total_size(bytes.size());
  upload.set_final(true);
  if (attack == "stale") return StaleAttack(transport, flags, task, upload);
  absl::StatusOr<proto::UploadResponse> answer = transport.Upload(upload);
  std::printf("attack %s in round %llu: %s\n", attack.c_str(), static_cast<unsigned long long>(task.round()),
              answer.ok() ? "ACCEPTED" : answer.status().ToString().c_str());
  if (absl::IsInvalidArgument(answer.status())) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("attack ", attack, " was not refused as invalid"));
}

absl::Status Run(const Flags& flags) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, CreateGrpcTransport(flags.transport));
  proto::RegisterRequest hello;
  hello.mutable_device()->set_device_id(flags.device_id);
  hello.mutable_device()->set_num_examples(1000);
  FEDGE_RETURN_IF_ERROR(transport->Register(hello).status());
  for (const std::string& attack : flags.attacks) FEDGE_RETURN_IF_ERROR(Attack(*transport, flags, attack));
  return absl::OkStatus();
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  fedge::Flags flags;
  CLI::App app{"fedge-hostile-device: crafted updates against a coordinator (test tool)"};
  app.add_option("--coordinator", flags.transport.target, "host:port")->required();
  app.add_option("--root-cert", flags.transport.root_cert_pem_path, "coordinator certificate (PEM)")->required();
  app.add_option("--tls-cert", flags.transport.client_cert_pem_path, "device certificate (PEM)");
  app.add_option("--tls-key", flags.transport.client_key_pem_path, "device key (PEM)");
  app.add_option("--coordinator-key", flags.coordinator_key, "artifact verify key (PEM)")->required();
  app.add_option("--device-id", flags.device_id, "device id (the certificate's CN)")->required();
  app.add_option("--attacks", flags.attacks, "attacks in order: overflow, metrics, stale")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  absl::Status status = fedge::Run(flags);
  if (!status.ok()) {
    std::fprintf(stderr, "fedge-hostile-device: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::printf("every attack was refused\n");
  return 0;
}
