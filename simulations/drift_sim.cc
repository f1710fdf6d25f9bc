#include "simulations/drift_sim.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "client/data/device_data_stream.h"
#include "client/drift_response.h"
#include "coordinator/federation.h"
#include "core/random.h"
#include "core/status.h"
#include "models/dataset.h"
#include "models/torch_evaluator.h"
#include "models/threads.h"
#include "models/torch_params.h"
#include "models/zoo.h"
#include "simulations/drift_transform.h"
#include "simulations/round_metric.h"

namespace fedge {
namespace {

constexpr uint64_t kDriftStream = 0x6472696674ULL;   // which devices drift
constexpr uint64_t kObserveStream = 0x6f6273ULL;     // what each device observes
constexpr uint64_t kNoiseStream = 0x6e6f697365ULL;   // sensor noise and label swaps
constexpr uint64_t kEvalStream = 0x6576616cULL;      // the drifted held-out set
constexpr int64_t kForwardBatch = 1000;

// An empty set of images shaped like `data`'s.
ImageDataset EmptyLike(const ImageDataset& data) {
  ImageDataset empty;
  empty.rows = data.rows;
  empty.cols = data.cols;
  return empty;
}

// The stream stores (example index, round) pairs, not pixels: no
// normalisation, and any non-negative value is in range.
DeviceDataStreamOptions StreamOptions(const DriftSettings& d) {
  DeviceDataStreamOptions o;
  o.preprocess.dim = 2;
  o.preprocess.normalize = false;
  o.preprocess.min_value = 0;
  o.preprocess.max_value = 1e12;
  o.preprocess.require_label = true;
  o.store.dim = 2;
  o.store.window_capacity = d.window;
  o.store.reservoir_capacity = d.reservoir;
  o.drift_hold_examples = d.hold_examples;
  return o;
}

DriftResponseOptions ResponseOptions(const DriftSettings& d) { return MakeDriftResponseOptions(d); }

}  // namespace

struct DriftSimulation::Impl {
  struct Device {
    bool drifting = false;
    std::unique_ptr<DeviceDataStream> stream;
    std::unique_ptr<DriftResponder> responder;
    SeededRandom rng;          // observation draws
    uint64_t seed = 0;         // noise and label swaps
    bool alarmed_after_onset = false;
    bool ever_alarmed = false;
  };

  const Scenario& scenario;
  const DriftSettings& drift;
  const ImageDataset& train;
  const ImageDataset& test;
  const std::vector<DeviceProfile>& population;
  Transport* coordinator;
  std::vector<Device> devices;
  torch::nn::Sequential model{nullptr};
  // The drifted held-out set's evaluator, rebuilt when the progress changes.
  std::unique_ptr<TorchEvaluator> drifted_eval;
  double drifted_eval_progress = -1;
  // Devices that alarmed in the round being observed.
  int64_t alarms_drifted = 0, alarms_undrifted = 0;

  Impl(const Scenario& s, const ImageDataset& tr, const ImageDataset& te, const std::vector<DeviceProfile>& p,
       Transport* c)
      : scenario(s), drift(s.drift), train(tr), test(te), population(p), coordinator(c) {}

  int64_t dim() const { return train.rows * train.cols; }
  uint64_t ExampleSeed(const Device& d, int64_t round, int64_t index) const {
    return DeriveSeed(DeriveSeed(d.seed, static_cast<uint64_t>(round)), static_cast<uint64_t>(index));
  }
  DriftTransform TransformFor(const Device& d, int64_t round) const {
    return d.drifting ? TransformAt(drift, DriftProgress(drift, round)) : DriftTransform{};
  }
  // Writes example `index` as device `d` saw it in `round` into `pixels`; returns its label.
  int Materialise(const Device& d, int64_t index, int64_t round, absl::Span<uint8_t> pixels) const {
    const DriftTransform t = TransformFor(d, round);
    const uint64_t seed = ExampleSeed(d, round, index);
    TransformImage(t, absl::MakeConstSpan(train.images).subspan(index * dim(), dim()), train.rows, train.cols, seed,
                   pixels);
    return TransformLabel(t, train.labels[index], seed);
  }
  // New examples of device `i` in `round` appended to `batch`; stored in its stream.
  absl::Status Receive(size_t i, int64_t round, int64_t n, ImageDataset& batch);
  // Up to `n` examples of device `i`'s recent window, as they arrived,
  // appended to `batch` (not stored again). Returns how many.
  absl::StatusOr<int64_t> Recall(size_t i, int64_t n, ImageDataset& batch);
  absl::StatusOr<std::vector<float>> Score(const ModelParams& global, const ImageDataset& batch);
};

DriftSimulation::DriftSimulation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DriftSimulation::~DriftSimulation() = default;

absl::Status DriftSimulation::Impl::Receive(size_t i, int64_t round, int64_t n, ImageDataset& batch) {
  Device& d = devices[i];
  const std::vector<int64_t>& shard = population[i].examples;
  const DriftTransform t = TransformFor(d, round);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t index = DrawExample(t, shard, train.labels, d.rng);
    const size_t at = batch.images.size();
    batch.images.resize(at + static_cast<size_t>(dim()));
    const int label = Materialise(d, index, round, absl::MakeSpan(batch.images).subspan(at));
    batch.labels.push_back(static_cast<uint8_t>(label));
    ++batch.num_examples;
    const float record[2] = {static_cast<float>(index), static_cast<float>(round)};
    FEDGE_RETURN_IF_ERROR(d.stream->Ingest(RawExample::Floats(record, label)));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> DriftSimulation::Impl::Recall(size_t i, int64_t n, ImageDataset& batch) {
  Device& d = devices[i];
  FEDGE_ASSIGN_OR_RETURN(ExampleBatch recent,
                         d.stream->store().Sample({.max_examples = n, .recent_fraction = 1.0}, d.rng));
  for (int64_t k = 0; k < recent.size(); ++k) {
    const absl::Span<const float> record = recent.example(k);
    const size_t at = batch.images.size();
    batch.images.resize(at + static_cast<size_t>(dim()));
    Materialise(d, static_cast<int64_t>(record[0]), static_cast<int64_t>(record[1]),
                absl::MakeSpan(batch.images).subspan(at));
    batch.labels.push_back(static_cast<uint8_t>(recent.labels[k]));
    ++batch.num_examples;
  }
  return recent.size();
}

absl::StatusOr<std::unique_ptr<DriftSimulation>> DriftSimulation::Create(const Scenario& scenario,
                                                                         const ImageDataset& train,
                                                                         const ImageDataset& test,
                                                                         const std::vector<DeviceProfile>& population,
                                                                         Transport* coordinator, Clock* clock) {
  if (!scenario.drift.enabled()) return absl::InvalidArgumentError("the scenario has no [drift] table");
  auto impl = std::make_unique<Impl>(scenario, train, test, population, coordinator);
  FEDGE_ASSIGN_OR_RETURN(impl->model, CreateModel(scenario.model.name, 0));  // weights come from the global model
  const std::vector<bool> drifting = SelectDriftingDevices(
      scenario.drift, static_cast<int64_t>(population.size()), DeriveSeed(scenario.seed, kDriftStream));
  impl->devices.resize(population.size());
  for (size_t i = 0; i < population.size(); ++i) {
    Impl::Device& d = impl->devices[i];
    const DeviceProfile& profile = population[i];
    d.drifting = drifting[i];
    d.seed = DeriveSeed(profile.seed, kNoiseStream);
    d.rng.seed(DeriveSeed(profile.seed, kObserveStream));
    FEDGE_ASSIGN_OR_RETURN(d.stream, DeviceDataStream::Create(StreamOptions(scenario.drift),
                                                              SeededRandom(DeriveSeed(profile.seed, kDriftStream))));
    DriftResponseHooks hooks;
    DeviceDataStream* stream = d.stream.get();
    hooks.prioritise_recent = [stream] { stream->NotifyDrift(); };
    hooks.report = [coordinator, id = profile.id](absl::Span<const proto::DriftAlarm> alarms) {
      return coordinator->Report(MakeDriftReport(id, alarms)).status();
    };
    FEDGE_ASSIGN_OR_RETURN(d.responder, DriftResponder::Create(ResponseOptions(scenario.drift), std::move(hooks), clock));
    if (profile.examples.empty()) continue;
    // The data the device holds before the first round: undrifted (round 0).
    ImageDataset ignored = EmptyLike(train);
    FEDGE_RETURN_IF_ERROR(
        impl->Receive(i, 0, scenario.drift.window + scenario.drift.reservoir, ignored));
  }
  return std::unique_ptr<DriftSimulation>(new DriftSimulation(std::move(impl)));
}

absl::StatusOr<std::vector<float>> DriftSimulation::Impl::Score(const ModelParams& global, const ImageDataset& batch) {
  std::vector<float> values;
  values.reserve(static_cast<size_t>(batch.num_examples));
  try {
    FEDGE_RETURN_IF_ERROR(LoadParams(global, *model));
    SetComputeThreads(scenario.run.torch_threads);
    torch::NoGradGuard no_grad;
    model->eval();
    const TensorDataset data = ToTensors(batch);
    for (int64_t from = 0; from < data.size(); from += kForwardBatch) {
      const int64_t to = std::min(data.size(), from + kForwardBatch);
      const torch::Tensor labels = data.labels.slice(0, from, to);
      const torch::Tensor log_probs = torch::log_softmax(model->forward(data.images.slice(0, from, to)), 1);
      const torch::Tensor picked = log_probs.gather(1, labels.unsqueeze(1)).squeeze(1).contiguous();
      const torch::Tensor correct = (log_probs.argmax(1) == labels).contiguous();
      const float* p = picked.data_ptr<float>();
      const bool* c = correct.data_ptr<bool>();
      for (int64_t k = 0; k < to - from; ++k) {
        switch (drift.signal) {
          case DriftSignalKind::kErrorProb: values.push_back(1.0f - std::exp(p[k])); break;
          case DriftSignalKind::kLoss: values.push_back(-p[k]); break;
          case DriftSignalKind::kError: values.push_back(c[k] ? 0.0f : 1.0f); break;
        }
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("drift: scoring the observed examples failed: ", e.what()));
  }
  return values;
}

absl::Status DriftSimulation::ObserveRound(int64_t round, const ModelParams& global) {
  Impl& s = *impl_;
  const int64_t n = s.drift.observe_examples;
  ImageDataset batch = EmptyLike(s.train);
  struct Slice {
    size_t device;
    size_t offset, size;  // reference examples first, then the new ones
  };
  std::vector<Slice> observed;  // devices with data, in batch order
  for (size_t i = 0; i < s.devices.size(); ++i) {
    if (s.population[i].examples.empty()) continue;
    const auto offset = static_cast<size_t>(batch.num_examples);
    int64_t reference = 0;
    if (s.drift.reference_examples > 0) {
      FEDGE_ASSIGN_OR_RETURN(reference, s.Recall(i, s.drift.reference_examples, batch));
    }
    FEDGE_RETURN_IF_ERROR(s.Receive(i, round, n, batch));
    observed.push_back({i, offset, static_cast<size_t>(reference + n)});
  }
  FEDGE_ASSIGN_OR_RETURN(std::vector<float> values, s.Score(global, batch));
  s.alarms_drifted = s.alarms_undrifted = 0;
  absl::Status first_error;
  for (const Slice& slice : observed) {
    Impl::Device& d = s.devices[slice.device];
    // A new model: the monitor re-baselines on data the device already
    // held, so only new data unlike those can raise an alarm.
    if (s.drift.reference_examples > 0) d.responder->ResetMonitor();
    const DriftResponseOutcome outcome =
        d.responder->ObserveLosses(absl::MakeConstSpan(values).subspan(slice.offset, slice.size));
    if (!outcome.report_status.ok() && first_error.ok()) first_error = outcome.report_status;
    if (outcome.new_alarms == 0) continue;
    d.ever_alarmed = true;
    if (d.drifting) {
      ++s.alarms_drifted;
      if (round >= s.drift.start_round) d.alarmed_after_onset = true;
    } else {
      ++s.alarms_undrifted;
    }
  }
  return first_error;
}

ImageDataset DriftSimulation::TrainingSet(size_t index, int64_t round, uint64_t seed) const {
  const Impl& s = *impl_;
  const Impl::Device& d = s.devices[index];
  ImageDataset out = EmptyLike(s.train);
  SeededRandom rng(DeriveSeed(seed, static_cast<uint64_t>(round)));
  absl::StatusOr<ExampleBatch> batch = d.stream->TrainingSet(s.drift.train_examples, rng);
  if (!batch.ok()) return out;  // only for a negative size, which parsing rules out
  out.num_examples = batch->size();
  out.images.resize(static_cast<size_t>(out.num_examples * s.dim()));
  out.labels.resize(static_cast<size_t>(out.num_examples));
  for (int64_t k = 0; k < out.num_examples; ++k) {
    const absl::Span<const float> record = batch->example(k);
    const auto example = static_cast<int64_t>(record[0]);
    const auto seen = static_cast<int64_t>(record[1]);
    s.Materialise(d, example, seen, absl::MakeSpan(out.images).subspan(k * s.dim(), s.dim()));
    out.labels[k] = static_cast<uint8_t>(batch->labels[k]);  // as it arrived (label swaps included)
  }
  return out;
}

absl::Status DriftSimulation::FillRow(const proto::RoundRecord& record, const ModelParams& global, RoundRow& row) {
  Impl& s = *impl_;
  row.drift_progress = DriftProgress(s.drift, row.round);
  row.drift_alarms = record.drift_alarms();
  row.drifting_devices = static_cast<int64_t>(RoundMetric(record, "drifting_devices", 0));
  row.alarms_drifted = s.alarms_drifted;
  row.alarms_undrifted = s.alarms_undrifted;
  row.drifted_devices = 0;
  row.drift_detected = 0;
  row.false_alarm_devices = 0;
  for (const Impl::Device& d : s.devices) {
    row.drifted_devices += d.drifting;
    row.drift_detected += d.drifting && d.alarmed_after_onset;
    row.false_alarm_devices += !d.drifting && d.ever_alarmed;
  }
  if (!std::isfinite(row.test_accuracy) || s.test.num_examples == 0) return absl::OkStatus();
  if (s.drifted_eval == nullptr || s.drifted_eval_progress != row.drift_progress) {
    const ImageDataset held_out = TransformDataset(TransformAt(s.drift, row.drift_progress), s.test,
                                                   s.drift.eval_examples, DeriveSeed(s.scenario.seed, kEvalStream));
    FEDGE_ASSIGN_OR_RETURN(s.drifted_eval, TorchEvaluator::Create(s.scenario.model.name, held_out, kForwardBatch,
                                                                  s.scenario.run.torch_threads));
    s.drifted_eval_progress = row.drift_progress;
  }
  FEDGE_ASSIGN_OR_RETURN(auto metrics, s.drifted_eval->Evaluate(global));
  row.drifted_accuracy = metrics["test_accuracy"];
  return absl::OkStatus();
}

bool DriftSimulation::drifting(size_t index) const { return impl_->devices[index].drifting; }

}  // namespace fedge
