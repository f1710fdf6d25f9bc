#include "client/device_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/random.h"
#include "core/status.h"

namespace fedge {
namespace {

// Rejected examples are counted in the stream's statistics; only the first
// few are logged, so a broken sensor cannot flood the log.
constexpr int64_t kRejectionsLogged = 20;

}  // namespace

// Forwards to the real trainer and hands the pipeline each global model a
// task trained from (the model the device's drift monitor scores with).
class DevicePipeline::ObservingTrainer final : public TrainerDecorator {
 public:
  ObservingTrainer(Trainer* inner, DevicePipeline* pipeline) : TrainerDecorator(inner), pipeline_(pipeline) {}

  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                    uint64_t seed) override {
    absl::StatusOr<TrainResult> result = inner()->Train(global, config, seed);
    if (result.ok()) pipeline_->OnTrained(global);
    return result;
  }

 private:
  DevicePipeline* const pipeline_;
};

absl::Status ValidateDevicePipelineOptions(const DevicePipelineOptions& o) {
  FEDGE_RETURN_IF_ERROR(ValidateDeviceDataStreamOptions(o.stream));
  if (o.train_examples < 0) {
    return absl::InvalidArgumentError(absl::StrCat("data.train_examples must be >= 0, got ", o.train_examples));
  }
  if (o.max_examples_per_step < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("DevicePipelineOptions.max_examples_per_step must be >= 1, got ", o.max_examples_per_step));
  }
  if (o.drift.reference_examples < 0) {
    return absl::InvalidArgumentError("drift.detector.reference_examples must be >= 0");
  }
  if (o.monitor_drift) FEDGE_RETURN_IF_ERROR(ValidateDriftResponseOptions(MakeDriftResponseOptions(o.drift)));
  return absl::OkStatus();
}

DevicePipeline::DevicePipeline(const DevicePipelineOptions& options, std::unique_ptr<DataSource> source,
                               std::unique_ptr<DeviceDataStream> stream, std::unique_ptr<ExampleScorer> scorer,
                               Clock* clock)
    : options_(options),
      source_(std::move(source)),
      stream_(std::move(stream)),
      scorer_(std::move(scorer)),
      clock_(clock) {}

DevicePipeline::~DevicePipeline() = default;

absl::StatusOr<std::unique_ptr<DevicePipeline>> DevicePipeline::Create(const DevicePipelineOptions& options,
                                                                       std::unique_ptr<DataSource> source,
                                                                       std::unique_ptr<ExampleScorer> scorer,
                                                                       uint64_t seed, Clock* clock) {
  FEDGE_RETURN_IF_ERROR(ValidateDevicePipelineOptions(options));
  if (source == nullptr) return absl::InvalidArgumentError("device pipeline: no data source");
  if (source->dim() != options.stream.preprocess.dim) {
    return absl::InvalidArgumentError(absl::StrCat("device pipeline: ", source->description(), " has ", source->dim(),
                                                   " features per example but the preprocessing expects ",
                                                   options.stream.preprocess.dim));
  }
  if (options.monitor_drift && scorer == nullptr) {
    return absl::InvalidArgumentError("device pipeline: drift monitoring needs a scorer");
  }
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DeviceDataStream> stream,
                         DeviceDataStream::Create(options.stream, SeededRandom(seed)));
  clock = clock != nullptr ? clock : Clock::Real();
  auto pipeline = std::unique_ptr<DevicePipeline>(
      new DevicePipeline(options, std::move(source), std::move(stream), std::move(scorer), clock));
  if (options.monitor_drift) {
    DevicePipeline* self = pipeline.get();
    DriftResponseHooks hooks{
        .prioritise_recent = [self] { self->stream_->NotifyDrift(); },
        .report = [self](absl::Span<const proto::DriftAlarm> alarms) -> absl::Status {
          if (!self->reporter_) return absl::UnavailableError("no reporter connected yet");
          return self->reporter_(alarms);
        }};
    FEDGE_ASSIGN_OR_RETURN(pipeline->responder_,
                           DriftResponder::Create(MakeDriftResponseOptions(options.drift), std::move(hooks), clock));
  }
  return pipeline;
}

Trainer* DevicePipeline::Observe(Trainer* inner) {
  observer_ = std::make_unique<ObservingTrainer>(inner, this);
  return observer_.get();
}

void DevicePipeline::OnTrained(const ModelParams& global) {
  if (!options_.monitor_drift) return;
  pending_model_ = global;
  has_pending_model_ = true;
}

absl::Status DevicePipeline::AdoptNewModel() {
  FEDGE_RETURN_IF_ERROR(scorer_->SetModel(pending_model_));
  has_pending_model_ = false;
  pending_model_ = ModelParams();
  ++counters_.models_seen;
  responder_->ResetMonitor();
  // Re-baseline on the newest examples the device already held: the new
  // model's loss on familiar data is the level drift is measured against.
  const ExampleStore& store = stream_->store();
  const int64_t take = std::min(options_.drift.reference_examples, store.window_size());
  std::vector<float> features;
  std::vector<int32_t> labels;
  for (int64_t i = store.window_size() - take; i < store.window_size(); ++i) {
    const ExampleRef example = store.WindowAt(i);
    if (!example.label) continue;
    features.insert(features.end(), example.features.begin(), example.features.end());
    labels.push_back(*example.label);
  }
  return Monitor(features, labels, /*baseline=*/true);
}

absl::Status DevicePipeline::Monitor(absl::Span<const float> features, absl::Span<const int32_t> labels,
                                     bool baseline) {
  if (labels.empty()) return absl::OkStatus();
  FEDGE_ASSIGN_OR_RETURN(ExampleScores scores, scorer_->Score(features, labels));
  std::vector<float> signal(scores.losses.size());
  for (size_t k = 0; k < signal.size(); ++k) {
    signal[k] = DriftSignalValue(options_.drift.signal, scores.losses[k], scores.correct[k] != 0);
  }
  const DriftResponseOutcome outcome = responder_->ObserveLosses(signal);
  counters_.scored += baseline ? 0 : signal.size();
  counters_.alarms += static_cast<uint64_t>(outcome.new_alarms);
  counters_.alarms_reported += static_cast<uint64_t>(outcome.reported);
  if (outcome.new_alarms > 0) {
    const DriftMonitor& monitor = responder_->monitor();
    FEDGE_LOG(WARNING) << options_.device_id << ": drift alarm (" << monitor.detector().name() << ", "
                       << outcome.new_alarms << " new, " << counters_.scored << " new examples scored)"
                       << (outcome.prioritised ? "; training on recent data" : "")
                       << (outcome.reported > 0 ? "; reported to the coordinator"
                                                : absl::StrCat("; not reported yet: ", outcome.report_status.ToString()));
  }
  return absl::OkStatus();
}

absl::Status DevicePipeline::Step() {
  if (options_.monitor_drift && has_pending_model_) FEDGE_RETURN_IF_ERROR(AdoptNewModel());
  int64_t polled = 0;
  do {
    FEDGE_RETURN_IF_ERROR(StepOnce(&polled));
    // A file or image set is stored whole before the device trains; a spool
    // gives one chunk per step so a busy producer cannot hold the device.
  } while (source_->finite() && !source_->exhausted() && polled > 0);
  return absl::OkStatus();
}

absl::Status DevicePipeline::StepOnce(int64_t* polled) {
  std::vector<SourceExample> examples;
  FEDGE_ASSIGN_OR_RETURN(*polled, source_->Poll(options_.max_examples_per_step, &examples));
  const bool scoring = options_.monitor_drift && scorer_->has_model();
  std::vector<float> features;
  std::vector<int32_t> labels;
  const absl::Time now = clock_->Now();
  for (const SourceExample& example : examples) {
    if (absl::Status stored = stream_->Ingest(example.View(now)); !stored.ok()) {
      if (rejections_logged_++ < kRejectionsLogged) {
        FEDGE_LOG(WARNING) << options_.device_id << ": example from " << source_->description()
                           << " rejected: " << stored.message();
      }
      continue;
    }
    const ExampleStore& store = stream_->store();
    const ExampleRef stored = store.WindowAt(store.window_size() - 1);  // preprocessed, as trained on
    if (scoring && stored.label) {
      features.insert(features.end(), stored.features.begin(), stored.features.end());
      labels.push_back(*stored.label);
    }
  }
  if (!labels.empty()) {
    FEDGE_RETURN_IF_ERROR(Monitor(features, labels, /*baseline=*/false));
  } else if (responder_ != nullptr && responder_->pending_reports() > 0) {
    // Nothing new to score: still retry alarms whose report failed.
    counters_.alarms_reported += static_cast<uint64_t>(responder_->Respond().reported);
  }
  if (!examples.empty()) {
    const DeviceDataStats stream = stream_->stats();
    FEDGE_LOG(INFO) << options_.device_id << ": " << examples.size() << " new examples from "
                    << source_->description() << ": " << stream.window_size + stream.reservoir_size << " stored, "
                    << labels.size() << " scored (" << counters_.scored << " in all), " << counters_.alarms
                    << " drift alarms in all";
  }
  return absl::OkStatus();
}

uint64_t DevicePipeline::num_examples() const {
  const int64_t stored = stream_->store().size();
  return static_cast<uint64_t>(options_.train_examples > 0 ? std::min(stored, options_.train_examples) : stored);
}

absl::StatusOr<ExampleBatch> DevicePipeline::Draw(int64_t max_examples, uint64_t seed) {
  int64_t n = options_.train_examples > 0 ? options_.train_examples : stream_->store().size();
  if (max_examples > 0) n = std::min(n, max_examples);
  SeededRandom rng(seed);
  return stream_->TrainingSet(n, rng);
}

DevicePipelineStats DevicePipeline::stats() const {
  DevicePipelineStats s = counters_;
  s.source = source_->stats();
  s.stream = stream_->stats();
  return s;
}

}  // namespace fedge
