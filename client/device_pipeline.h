// File: client/device_pipeline.h
//
// `DevicePipeline`: the device's data side in one component, wired once and
// used by fedge-device (the simulator drives the same parts itself):
//
//   DataSource ──▶ DeviceDataStream ──▶ training sets (TrainingData, for TorchTrainer)
//   (idx/csv/spool)   preprocess + store
//                      │ new labelled examples, scored by the latest global
//                      ▼ model the device trained from (ExampleScorer)
//                   DriftResponder ──▶ NotifyDrift (recent-only training)
//                                  └─▶ report (Device::ReportDrift → coordinator's drift map)
//
// Step() is called between the device's polls (RunLimits::before_poll): it
// takes what the source has now (bounded per step), preprocesses and stores
// it, and, with drift monitoring on, scores every newly stored labelled
// example with the model of the device's latest training task and feeds the
// signal (client/drift_settings.h: error_prob, loss or error) to the
// responder. Before the device has trained once nothing is scored. When the
// model changes, the monitor restarts and is re-baselined on up to
// `reference_examples` examples already in the window, so a new model alone
// is no drift (the simulator's rule).
//
// The pipeline is LibTorch-free: the trainer and the scorer it is given
// hold the LibTorch parts.
//
// Ownership: owns the source, the stream, the scorer, the responder and the
// trainer wrapper it returns from Observe(). Thread-safety: thread-compatible;
// fedge-device calls Step(), and trains (which draws from it), on its one
// device thread.
#ifndef FEDGE_CLIENT_DEVICE_PIPELINE_H_
#define FEDGE_CLIENT_DEVICE_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/data/data_source.h"
#include "client/data/device_data_stream.h"
#include "client/drift_response.h"
#include "client/drift_settings.h"
#include "client/example_scorer.h"
#include "client/trainer.h"
#include "core/env.h"
#include "core/params.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct DevicePipelineOptions {
  // Names the device in log lines.
  std::string device_id = "device-0";
  // Preprocessing and the store (preprocess.dim must be the source's width).
  DeviceDataStreamOptions stream = {};
  // Largest training set drawn for a task (0 = everything stored); a task's
  // own max_examples lowers it.
  int64_t train_examples = 0;
  // Examples taken from the source per Step, so one step stays short. >= 1.
  int64_t max_examples_per_step = 2048;
  // Score new labelled examples and respond to drift. Off: no scorer needed.
  bool monitor_drift = false;
  DeviceDriftSettings drift = {};
};

// kInvalidArgument naming the field.
absl::Status ValidateDevicePipelineOptions(const DevicePipelineOptions& options);

// Sends alarms to the coordinator; OK when delivered.
using DriftReporter = std::function<absl::Status(absl::Span<const proto::DriftAlarm>)>;

struct DevicePipelineStats {
  DataSourceStats source = {};
  DeviceDataStats stream = {};
  uint64_t scored = 0;          // new examples fed to the monitor
  uint64_t models_seen = 0;     // global models the monitor restarted on
  uint64_t alarms = 0;          // drift alarms raised
  uint64_t alarms_reported = 0; // delivered to the coordinator
};

class DevicePipeline final : public TrainingData {
 public:
  // `scorer` may be null when monitor_drift is off; `clock` is borrowed
  // (stamps arrivals and alarms). `seed` drives the store's reservoir and
  // nothing else. kInvalidArgument for bad options, a source whose width is
  // not preprocess.dim, or drift monitoring without a scorer.
  static absl::StatusOr<std::unique_ptr<DevicePipeline>> Create(const DevicePipelineOptions& options,
                                                                std::unique_ptr<DataSource> source,
                                                                std::unique_ptr<ExampleScorer> scorer, uint64_t seed,
                                                                Clock* clock);
  ~DevicePipeline() override;

  // A Trainer that forwards to `inner` (borrowed) and tells the pipeline
  // which global model each successful task trained from: give it to the
  // Device. Owned by the pipeline.
  Trainer* Observe(Trainer* inner);
  // Where alarms are reported (normally Device::ReportDrift). Until set,
  // reports fail and stay pending (bounded, DriftResponseOptions).
  void SetReporter(DriftReporter reporter) { reporter_ = std::move(reporter); }

  // Reads, stores and scores what the source has now (a finite source to
  // its end, in chunks of max_examples_per_step; a spool at most one
  // chunk), and responds to drift. Errors are the source's (a spool directory gone, a consumed file
  // that cannot be deleted) or the scorer's; bad rows and rejected examples
  // are counted, not errors.
  absl::Status Step();

  // TrainingData: the stream's examples; num_examples() is the size of a
  // training set (the store, capped by train_examples), which is what
  // Draw(0, seed) returns and what a DP-SGD task is accounted on.
  uint64_t num_examples() const override;
  int64_t dim() const override { return stream_->preprocessor().options().dim; }
  absl::StatusOr<ExampleBatch> Draw(int64_t max_examples, uint64_t seed) override;

  DevicePipelineStats stats() const;
  const DataSource& source() const { return *source_; }
  const DeviceDataStream& stream() const { return *stream_; }

  // Called by the trainer wrapper (Observe) after a successful task.
  void OnTrained(const ModelParams& global);

 private:
  class ObservingTrainer;
  DevicePipeline(const DevicePipelineOptions& options, std::unique_ptr<DataSource> source,
                 std::unique_ptr<DeviceDataStream> stream, std::unique_ptr<ExampleScorer> scorer, Clock* clock);
  // Loads a model the device trained from since the last step into the
  // scorer, restarts the monitor and re-baselines it on the window.
  absl::Status AdoptNewModel();
  // One chunk: at most max_examples_per_step examples polled, stored and
  // scored. Sets *polled to how many the source gave.
  absl::Status StepOnce(int64_t* polled);
  // Scores `features`/`labels` and feeds the responder; logs alarms.
  absl::Status Monitor(absl::Span<const float> features, absl::Span<const int32_t> labels, bool baseline);

  DevicePipelineOptions options_;
  std::unique_ptr<DataSource> source_;
  std::unique_ptr<DeviceDataStream> stream_;
  std::unique_ptr<ExampleScorer> scorer_;
  std::unique_ptr<DriftResponder> responder_;
  std::unique_ptr<ObservingTrainer> observer_;
  Clock* clock_;
  DriftReporter reporter_;
  ModelParams pending_model_;  // trained from, not yet in the scorer
  bool has_pending_model_ = false;
  DevicePipelineStats counters_;
  int64_t rejections_logged_ = 0;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DEVICE_PIPELINE_H_
