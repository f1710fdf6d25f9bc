// Device: the secure-aggregation path of a task (client/secagg_exchange.h),
// in place of encoding and uploading the update.
#include "absl/strings/str_cat.h"
#include "client/device.h"
#include "client/secagg_exchange.h"
#include "core/logging.h"
#include "core/status.h"

namespace fedge {

absl::StatusOr<Device::PendingUpload> Device::PrepareSecAgg(const proto::Task& task, std::vector<float> delta,
                                                            uint64_t model_bytes, uint64_t seed) {
  const proto::SecAggTask& s = task.secagg();
  if (!(s.scale() > 0) || !(s.noise_stddev() >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("the task's secure-aggregation scale (", s.scale(),
                                                   ") or noise (", s.noise_stddev(), ") is invalid"));
  }
  FEDGE_ASSIGN_OR_RETURN(const int code_bits, SecAggTaskCodeBits(s));
  if (s.noise_stddev() > 0) {
    // Distributed DP: this device's share of the round's Gaussian noise,
    // added to the clipped delta before anything leaves the device.
    SecureRandom* noise = options_.secagg_noise ? options_.secagg_noise : SecureRandom::Default();
    noise->AddGaussianNoise(absl::MakeSpan(delta), s.noise_stddev());
  }
  SeededRandom rng(seed);
  const std::vector<int8_t> codes = QuantizeOnSharedScale(delta, s.scale(), code_bits, rng);
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<SecAggExchange> exchange,
                         SecAggExchange::Start(task, options_.device_id, codes));
  if (task.deadline_unix_micros() > 0 && absl::ToUnixMicros(clock_->Now()) > task.deadline_unix_micros()) {
    return absl::DeadlineExceededError("the task's deadline passed during training; nothing was sent");
  }
  FEDGE_LOG(INFO) << options_.device_id << ": task " << task.task_id() << " (round " << task.round()
                  << "): joining secure aggregation as client " << s.client_index() << " of " << s.num_clients()
                  << " with " << code_bits << "-bit codes";
  return PendingUpload{.task = task, .bytes = {}, .model_bytes = model_bytes, .secagg = std::move(exchange)};
}

absl::Status Device::AdvanceSecAgg(StepResult& step) {
  SecAggExchange& exchange = *pending_->secagg;
  SecAggExchange::Progress progress;
  absl::Status stepped = WithRetry("SecAgg", [&]() {
    FEDGE_ASSIGN_OR_RETURN(progress, exchange.Step(*transport_));
    return absl::OkStatus();
  });
  step.secagg_stage = exchange.stage();
  if (stepped.ok() && !progress.done) {
    step.waiting = true;
    step.retry_after = progress.retry_after;
    return absl::OkStatus();
  }
  const secagg::SessionCosts& costs = exchange.costs();
  Count(&DeviceCounters::bytes_up, costs.TotalBytesSent());
  if (!stepped.ok()) {
    ReportMetrics({{"task_failed", 1}, {"secagg_stage", static_cast<double>(exchange.stage())}});
    return absl::Status(stepped.code(), absl::StrCat("secure aggregation: ", stepped.message()));
  }
  FEDGE_LOG(INFO) << options_.device_id << ": secure aggregation of task " << pending_->task.task_id() << " done";
  ReportMetrics({{"model_bytes", static_cast<double>(pending_->model_bytes)},
                 {"update_bytes", static_cast<double>(costs.TotalBytesSent())},
                 {"secagg_bytes_received", static_cast<double>(costs.TotalBytesReceived())},
                 {"secagg_cpu_ms", absl::ToDoubleMilliseconds(costs.TotalCpuTime())}});
  return absl::OkStatus();
}

}  // namespace fedge
