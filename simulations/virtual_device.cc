#include "simulations/virtual_device.h"

#include <algorithm>
#include <functional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/random.h"
#include "core/status.h"

namespace fedge {
namespace {

// Random streams derived from the scenario seed (others: partition, model,
// selection; see simulator.cc).
constexpr uint64_t kProfileStream = 0x70726f66696c65ULL;
constexpr uint64_t kFateStream = 0x66617465ULL;
constexpr uint64_t kSecAggDropoutStream = 0x736563616767ULL;
constexpr uint64_t kAgentStream = 0x6167656e74ULL;

constexpr double kBytesPerMbit = 1e6 / 8;

absl::Duration TransferTime(size_t bytes, double bytes_per_s) { return absl::Seconds(bytes / bytes_per_s); }

}  // namespace

std::vector<DeviceProfile> MakePopulation(const Scenario& scenario, Partition shards) {
  const Scenario::Devices& d = scenario.devices;
  const int width = static_cast<int>(absl::StrCat(std::max<size_t>(shards.size(), 1) - 1).size());
  std::vector<DeviceProfile> population(shards.size());
  for (size_t i = 0; i < shards.size(); ++i) {
    SeededRandom rng(DeriveSeed(DeriveSeed(scenario.seed, kProfileStream), i));
    std::normal_distribution<double> z(0, 1);
    DeviceProfile& p = population[i];
    p.id = absl::StrFormat("dev-%0*d", width, i);
    p.examples = std::move(shards[i]);
    p.compute_speed = SampleLogNormal(d.compute_speed, z(rng));
    p.bytes_per_s_up = SampleLogNormal(d.bandwidth_up, z(rng)) * kBytesPerMbit;
    p.bytes_per_s_down = SampleLogNormal(d.bandwidth_down, z(rng)) * kBytesPerMbit;
    p.latency = absl::Milliseconds(SampleLogNormal(d.latency_ms, z(rng)));
    p.seed = DeriveSeed(DeriveSeed(scenario.seed, kAgentStream), i);
  }
  return population;
}

RoundFate DrawFate(const Scenario& scenario, uint64_t round, const std::string& device_id) {
  // Hash the id rather than use the index so the fate is a function of the
  // device's name alone.
  SeededRandom rng(DeriveSeed(DeriveSeed(scenario.seed, kFateStream + round), std::hash<std::string>()(device_id)));
  std::uniform_real_distribution<double> u(0, 1);
  RoundFate fate;
  fate.online = u(rng) < scenario.devices.availability;
  fate.drops_out = u(rng) < scenario.devices.dropout;
  return fate;
}

bool DrawSecAggDropout(const Scenario& scenario, uint64_t round, const std::string& device_id, int stage) {
  if (scenario.devices.secagg_dropout <= 0) return false;
  SeededRandom rng(DeriveSeed(DeriveSeed(DeriveSeed(scenario.seed, kSecAggDropoutStream + round),
                                         std::hash<std::string>()(device_id)),
                              static_cast<uint64_t>(stage)));
  return std::uniform_real_distribution<double>(0, 1)(rng) < scenario.devices.secagg_dropout;
}

SimLink::SimLink(Transport* coordinator, FakeClock* coordinator_clock, FakeClock* clock, const DeviceProfile& profile,
                 absl::Time deadline)
    : coordinator_(coordinator),
      coordinator_clock_(coordinator_clock),
      clock_(clock),
      profile_(profile),
      deadline_(deadline) {}

absl::StatusOr<proto::RegisterResponse> SimLink::Register(const proto::RegisterRequest& request) {
  return coordinator_->Register(request);
}

absl::StatusOr<proto::PollTaskResponse> SimLink::PollTask(const proto::PollTaskRequest& request) {
  return coordinator_->PollTask(request);
}

absl::StatusOr<proto::DownloadResponse> SimLink::Download(const proto::DownloadRequest& request) {
  absl::StatusOr<proto::DownloadResponse> response = coordinator_->Download(request);
  if (response.ok()) {
    if (request.offset() == 0) clock_->Advance(profile_.latency);
    clock_->Advance(TransferTime(response->data().size(), profile_.bytes_per_s_down));
  }
  return response;
}

absl::Time SimLink::ArrivalIfSentNow(uint64_t bytes, uint32_t chunk_bytes) const {
  // The same sum, term by term, as the clock advances in Upload.
  absl::Time arrival = clock_->Now() + profile_.latency;
  for (uint64_t sent = 0; sent < bytes; sent += chunk_bytes) {
    arrival += TransferTime(std::min<uint64_t>(chunk_bytes, bytes - sent), profile_.bytes_per_s_up);
  }
  return arrival;
}

absl::StatusOr<proto::UploadResponse> SimLink::Upload(const proto::UploadRequest& request) {
  if (request.offset() == 0) clock_->Advance(profile_.latency);
  clock_->Advance(TransferTime(request.data().size(), profile_.bytes_per_s_up));
  if (clock_->Now() > deadline_) {
    refused_late_ = true;
    return absl::FailedPreconditionError("simulated: the upload would arrive after the round deadline (late update)");
  }
  coordinator_clock_->SetTime(std::max(coordinator_clock_->Now(), clock_->Now()));
  return coordinator_->Upload(request);
}

absl::StatusOr<proto::ReportResponse> SimLink::Report(const proto::DeviceReport& report) {
  if (cut_) return absl::UnavailableError("simulated: the device lost its link");
  return coordinator_->Report(report);
}

absl::StatusOr<proto::SecAggResponse> SimLink::SecAgg(const proto::SecAggRequest& request) {
  if (cut_) return absl::UnavailableError("simulated: the device lost its link during secure aggregation");
  return coordinator_->SecAgg(request);
}

SimTrainer::SimTrainer(Trainer* inner, FakeClock* clock, double compute_speed, bool drops_out, absl::Time deadline)
    : TrainerDecorator(inner),
      clock_(clock),
      compute_speed_(compute_speed),
      drops_out_(drops_out),
      deadline_(deadline) {}

absl::StatusOr<TrainResult> SimTrainer::Train(const ModelParams& global, const proto::TrainConfig& config,
                                              uint64_t seed) {
  if (drops_out_) {
    simulated_failure_ = true;
    return absl::UnavailableError("simulated: the device dropped out during the round");
  }
  uint64_t examples = num_examples();
  if (config.max_examples() > 0) examples = std::min<uint64_t>(examples, config.max_examples());
  const int epochs = std::max(config.local_epochs(), 1);
  const absl::Duration compute = absl::Seconds(static_cast<double>(examples) * epochs / compute_speed_);
  if (clock_->Now() + compute > deadline_) {
    simulated_failure_ = true;
    return absl::DeadlineExceededError("simulated: local training would end after the round deadline");
  }
  absl::StatusOr<TrainResult> result = inner()->Train(global, config, seed);
  if (result.ok()) clock_->Advance(compute);
  return result;
}

}  // namespace fedge
