#include "simulations/remote_training.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/random.h"
#include "core/status.h"
#include "simulations/mpi_messages.h"

namespace fedge {
namespace {

// FNV-1a: a stable checksum of the dataset's bytes (absl::Hash is seeded
// per process, so two ranks would disagree).
uint64_t Fnv1a(const std::vector<uint8_t>& bytes, uint64_t h = 0xcbf29ce484222325ULL) {
  for (uint8_t b : bytes) h = (h ^ b) * 0x100000001b3ULL;
  return h;
}

}  // namespace

std::string ScenarioFingerprint(const Scenario& scenario, const ImageDataset& train) {
  return absl::StrFormat("%s\ntrain: %d examples, %dx%d, checksum %016x", ScenarioToJson(scenario).dump(),
                         train.num_examples, train.rows, train.cols, Fnv1a(train.labels, Fnv1a(train.images)));
}

absl::Status CheckRemoteTrainable(const Scenario& scenario) {
  if (scenario.drift.enabled()) {
    return absl::FailedPreconditionError(
        "--mpi does not support [drift] scenarios: the devices' drifting data windows live in rank 0's drift "
        "simulation; run this scenario without --mpi");
  }
  if (scenario.async_mode()) {
    return absl::FailedPreconditionError(
        "--mpi does not support [federation] mode = \"async\": asynchronous steps train a few devices at a "
        "time as they come online, on rank 0; run this scenario without --mpi");
  }
  if (scenario.two_tier()) {
    return absl::FailedPreconditionError(
        "--mpi does not support [gateway] sites > 0 yet: run the two-tier topology without --mpi");
  }
  return absl::OkStatus();
}

// Trains on another rank; everything else is the local trainer's.
class RemoteTraining::Decorator final : public TrainerDecorator {
 public:
  Decorator(Trainer* local, RemoteTraining* owner, int rank, uint64_t device_index, uint64_t noise_seed)
      : TrainerDecorator(local), owner_(owner), rank_(rank), device_index_(device_index), noise_seed_(noise_seed) {}

  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                    uint64_t seed) override {
    const ParamLayout& layout = inner()->layout();
    if (!(global.layout == layout)) return absl::InvalidArgumentError("the global model's layout is not the trainer's");
    MpiTrainRequest request{
        .device_index = device_index_, .seed = seed, .noise_seed = noise_seed_, .config = config, .global = global.values};
    absl::StatusOr<std::string> bytes = owner_->channel_->Call(rank_, EncodeMpiTrainRequest(request));
    if (!bytes.ok()) return owner_->Fail(rank_, bytes.status());
    absl::StatusOr<MpiTrainReply> reply = DecodeMpiTrainReply(*bytes);
    if (!reply.ok()) return owner_->Fail(rank_, reply.status());
    // The device's own outcome (no data, a refused config): as if trained here.
    if (!reply->status.ok()) return reply->status;
    TrainResult result = std::move(reply->result);
    if (static_cast<int64_t>(result.local.values.size()) != layout.num_elements()) {
      return owner_->Fail(rank_, absl::DataLossError(absl::StrCat("the trained model has ", result.local.values.size(),
                                                                  " parameters, the layout ", layout.num_elements())));
    }
    result.local.layout = layout;
    owner_->Count(rank_);
    return result;
  }

 private:
  RemoteTraining* const owner_;
  const int rank_;
  const uint64_t device_index_;
  const uint64_t noise_seed_;
};

absl::Status RemoteTraining::Start(const Scenario& scenario, const std::string& fingerprint) {
  FEDGE_RETURN_IF_ERROR(CheckRemoteTrainable(scenario));
  for (int rank = 1; rank < ranks(); ++rank) {
    absl::StatusOr<std::string> bytes = channel_->Call(rank, EncodeMpiHello({.fingerprint = fingerprint}));
    if (!bytes.ok()) return Fail(rank, bytes.status());
    absl::StatusOr<MpiHelloReply> reply = DecodeMpiHelloReply(*bytes);
    if (!reply.ok()) return Fail(rank, reply.status());
    if (!reply->setup.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("rank ", rank, " cannot train for this run: ", reply->setup.message()));
    }
  }
  return absl::OkStatus();
}

int RemoteTraining::OwnerOf(size_t k, size_t n) const {
  if (n == 0) return 0;
  return static_cast<int>(k * static_cast<size_t>(ranks()) / n);
}

std::unique_ptr<Trainer> RemoteTraining::Wrap(Trainer* local, int rank, uint64_t device_index, uint64_t noise_seed) {
  return std::make_unique<Decorator>(local, this, rank, device_index, noise_seed);
}

absl::Status RemoteTraining::status() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

std::vector<int64_t> RemoteTraining::trained_per_rank() const {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> trained = trained_;
  trained.resize(ranks(), 0);
  return trained;
}

void RemoteTraining::Count(int rank) {
  absl::MutexLock lock(&mu_);
  if (trained_.size() < static_cast<size_t>(ranks())) trained_.resize(ranks(), 0);
  ++trained_[rank];
}

absl::Status RemoteTraining::Fail(int rank, const absl::Status& status) {
  absl::Status failure(status.code(), absl::StrCat("training on rank ", rank, ": ", status.message()));
  absl::MutexLock lock(&mu_);
  if (failure_.ok()) failure_ = failure;
  return failure;
}

TrainingServer::TrainingServer(const Scenario& scenario, absl::StatusOr<ImageDataset> train) : scenario_(scenario) {
  setup_status_ = train.status();
  if (setup_status_.ok()) setup_status_ = CheckRemoteTrainable(scenario_);
  if (!setup_status_.ok()) return;
  train_ = *std::move(train);
  absl::StatusOr<PopulationSetup> setup = BuildPopulation(scenario_, train_);
  setup_status_ = setup.status();
  if (setup.ok()) setup_ = *std::move(setup);
  fingerprint_ = ScenarioFingerprint(scenario_, train_);
}

std::string TrainingServer::Handle(absl::string_view request) const {
  absl::StatusOr<MpiMessageKind> kind = PeekMpiMessageKind(request);
  if (kind.ok() && *kind == MpiMessageKind::kHello) return Hello(request);
  MpiTrainReply reply;
  if (!kind.ok()) {
    reply.status = kind.status();
  } else if (*kind != MpiMessageKind::kTrain) {
    reply.status = absl::InvalidArgumentError(absl::StrCat("a worker rank cannot answer message kind ",
                                                           static_cast<int>(*kind)));
  } else {
    absl::StatusOr<TrainResult> result = Train(request);
    reply.status = result.status();
    if (result.ok()) reply.result = *std::move(result);
  }
  return EncodeMpiTrainReply(reply);
}

std::string TrainingServer::Hello(absl::string_view request) const {
  absl::StatusOr<MpiHello> hello = DecodeMpiHello(request);
  MpiHelloReply reply{.setup = hello.status()};
  if (reply.setup.ok()) reply.setup = setup_status_;
  if (reply.setup.ok() && hello->fingerprint != fingerprint_) {
    reply.setup = absl::FailedPreconditionError(
        "it loaded another scenario or dataset than rank 0: give every rank the same scenario file, overrides and "
        "data directory (on several hosts, the same paths)");
  }
  return EncodeMpiHelloReply(reply);
}

absl::StatusOr<TrainResult> TrainingServer::Train(absl::string_view bytes) const {
  FEDGE_RETURN_IF_ERROR(setup_status_);
  FEDGE_ASSIGN_OR_RETURN(MpiTrainRequest request, DecodeMpiTrainRequest(bytes));
  if (request.device_index >= setup_.population.size()) {
    return absl::InvalidArgumentError(absl::StrCat("device index ", request.device_index, " is not in the population of ",
                                                   setup_.population.size()));
  }
  const size_t index = static_cast<size_t>(request.device_index);
  // The same stream rank 0 would have given the trainer (privacy_runtime.h).
  DeterministicRandom noise(request.noise_seed);
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<TorchTrainer> trainer,
                         MakeDeviceTrainer(scenario_, train_, setup_, index, setup_.Materialise(index),
                                           DeviceTrainerOptions(scenario_, &noise)));
  ModelParams global{.layout = trainer->layout(), .values = std::move(request.global)};
  FEDGE_RETURN_IF_ERROR(global.Validate());
  return trainer->Train(global, request.config, request.seed);
}

}  // namespace fedge
