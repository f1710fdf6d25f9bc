// File: client/trainer.h
//
// The device's local training step. `Trainer` is the seam between the
// device agent (client/device.h), which only moves flat parameter vectors,
// and the code that actually fine-tunes a model. This header is free of
// LibTorch so the agent, the simulator and tests can use it without Torch
// headers. `TorchTrainer`, below, is the LibTorch implementation; its
// Torch types stay in client/trainer.cc behind a pointer to implementation.
#ifndef FEDGE_CLIENT_TRAINER_H_
#define FEDGE_CLIENT_TRAINER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/data/example_store.h"
#include "core/idx.h"
#include "core/model_shape.h"
#include "core/params.h"
#include "core/random.h"
#include "privacy/rdp_accountant.h"
#include "proto/fedge.pb.h"

namespace fedge {

// What one local training task produced.
struct TrainResult {
  // The locally fine-tuned parameters, in the layout of the global model
  // they started from (the device computes the delta).
  ModelParams local;
  // Examples trained on: the update's aggregation weight.
  uint64_t num_examples = 0;
  // Local metrics, e.g. "train_loss", "local_accuracy", "local_loss",
  // "train_steps", "train_seconds" (wall time of the training loop).
  std::map<std::string, double> metrics;
  // For a DP-SGD task: the sampled Gaussian mechanism the run amounted to,
  // which the device's privacy ledger is charged before the update leaves.
  std::optional<SgmEvent> privacy;
  // CPU seconds of the training loop on the training thread (logged by the
  // device, not sent: bench/loopback_bench.sh sums it into the training floor).
  double train_cpu_seconds = 0;
};

// Thread-safety: implementations are used by one device, from one thread at
// a time, unless they document otherwise.
class Trainer {
 public:
  virtual ~Trainer() = default;

  // The zoo architecture this trainer fine-tunes (models/zoo.h).
  virtual const std::string& architecture() const = 0;
  // The parameter layout it accepts and returns.
  virtual const ParamLayout& layout() const = 0;
  // Number of local examples available (before `config.max_examples`).
  virtual uint64_t num_examples() const = 0;

  // Fine-tunes a copy of `global` on local data as `config` says.
  // `seed` makes the run reproducible (shuffling, example selection); the
  // device derives it per round from its own seed.
  // kInvalidArgument for a layout other than layout() or an invalid config,
  // kFailedPrecondition when there is no local data or the config asks for
  // something the trainer cannot do, kInternal for a training failure.
  virtual absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                            uint64_t seed) = 0;
  // The privacy a task would spend, before training it: nullopt for a task
  // without DP-SGD. kInvalidArgument for an invalid DP configuration.
  virtual absl::StatusOr<std::optional<SgmEvent>> PlanPrivacy(const proto::TrainConfig& config) const {
    (void)config;
    return std::nullopt;
  }
};

// Base of trainers that wrap another and change only what Train does (the
// simulator's faults and attacks): the rest is the wrapped trainer's.
// `inner` is borrowed and must outlive the decorator.
class TrainerDecorator : public Trainer {
 public:
  explicit TrainerDecorator(Trainer* inner) : inner_(inner) {}

  const std::string& architecture() const override { return inner_->architecture(); }
  const ParamLayout& layout() const override { return inner_->layout(); }
  uint64_t num_examples() const override { return inner_->num_examples(); }
  absl::StatusOr<std::optional<SgmEvent>> PlanPrivacy(const proto::TrainConfig& config) const override {
    return inner_->PlanPrivacy(config);
  }

 protected:
  Trainer* inner() const { return inner_; }

 private:
  Trainer* const inner_;
};

struct TensorDataset;  // models/dataset.h

// Where a streaming trainer's examples come from: the device's data store
// (client/device_pipeline.h: DevicePipeline, over DeviceDataStream), or any
// other provider of labelled flat-float examples. LibTorch-free.
// Thread-safety: called from the training thread only, between the data
// pipeline's steps (fedge-device runs both on one thread).
class TrainingData {
 public:
  virtual ~TrainingData() = default;
  // Examples a training set holds now when the task sets no max_examples
  // (what Draw(0, seed) returns; DP-SGD tasks are accounted on it).
  virtual uint64_t num_examples() const = 0;
  // Features per example.
  virtual int64_t dim() const = 0;
  // A training set of at most `max_examples` labelled examples (0 = the
  // provider's own cap), drawn reproducibly from `seed`. Every label must be
  // a class of the model. kFailedPrecondition when there is none.
  virtual absl::StatusOr<ExampleBatch> Draw(int64_t max_examples, uint64_t seed) = 0;
};

struct TorchTrainerOptions {
  // Zoo architecture to fine-tune (models/zoo.h); must match the tasks'.
  std::string architecture = "cnn_small";
  // Input width and classes (model.input_features / num_classes): what
  // mlp_tabular is built for; the image models take {0 or 784, 10}.
  ModelShape shape = {};
  // LibTorch intra-op threads, set before each task. The setting is
  // process-wide in LibTorch: devices sharing a process should agree on it.
  // 0 leaves LibTorch's setting alone.
  int torch_threads = 1;
  // After training, evaluate the local model on the examples it trained on
  // and report "local_accuracy" / "local_loss" (one extra forward pass;
  // never for DP-SGD tasks, whose metrics must not leak the data).
  bool evaluate_local = true;
  // At most this many of them (the first of the task's draw; 0: all). The
  // figure is informational, and a pass over a whole shard costs about a
  // third of the training's CPU (a forward pass per example, against a
  // forward and a backward); 1,024 examples give an accuracy near 85% with
  // a standard error of about 1 point.
  int64_t max_local_eval_examples = 1024;
  // Examples per forward pass of that evaluation (models/training.h
  // kDefaultEvalBatchSize: the activations grow with it).
  int64_t eval_batch_size = 64;
  // Noise source for DP-SGD tasks; null uses SecureRandom::Default().
  // Borrowed; must outlive the trainer.
  SecureRandom* dp_random = nullptr;
  // Checked before every batch (plain and DP-SGD); a non-OK status (e.g.
  // kAborted "battery at 12%", client/device_conditions.h) stops the task and
  // Train returns it: nothing is uploaded and no privacy is charged.
  std::function<absl::Status()> between_batches = nullptr;
};

// Fine-tunes a zoo model on the device's local examples with LibTorch
// (models/training.h): SGD or Adam with momentum and weight decay, and the
// FedProx proximal term mu/2 ||w - w_global||^2 when the task sets
// `proximal_mu`. Zero-valued config fields (proto3's "unset") take the
// defaults of `TrainOptions`: 1 epoch, batch 32, learning rate 0.05, "sgd".
// Sample-level DP-SGD is not done here (privacy/ has its own loop): a task
// with `dp_noise_multiplier > 0` is refused with kFailedPrecondition rather
// than trained without the promised privacy.
//
// Its examples are either fixed tensors (owned, shared not copied) or a
// `TrainingData` (borrowed) that each Train draws a fresh training set from,
// so a device training on a stream needs no second trainer.
// Thread-safety: one Train at a time (not internally synchronised).
class TorchTrainer final : public Trainer {
 public:
  // kInvalidArgument for an unknown architecture, negative torch_threads or
  // eval_batch_size < 1; kFailedPrecondition for an empty dataset.
  static absl::StatusOr<std::unique_ptr<TorchTrainer>> Create(const TorchTrainerOptions& options,
                                                              const TensorDataset& data);
  // Trains on the examples of `data` at `indices` (a device's shard).
  // kInvalidArgument additionally for an index out of range.
  static absl::StatusOr<std::unique_ptr<TorchTrainer>> Create(const TorchTrainerOptions& options,
                                                              const ImageDataset& data,
                                                              absl::Span<const int64_t> indices);
  // Streaming: every Train draws its examples from `data` (borrowed; must
  // outlive the trainer), at most the task's max_examples. kInvalidArgument
  // when data->dim() is not the model's input width.
  static absl::StatusOr<std::unique_ptr<TorchTrainer>> Create(const TorchTrainerOptions& options,
                                                              TrainingData* data);
  ~TorchTrainer() override;
  TorchTrainer(const TorchTrainer&) = delete;
  TorchTrainer& operator=(const TorchTrainer&) = delete;

  const std::string& architecture() const override;
  const ParamLayout& layout() const override;
  uint64_t num_examples() const override;
  // A task with dp_noise_multiplier > 0 trains with DP-SGD
  // (privacy/dpsgd/): Poisson batches of expected size batch_size,
  // per-example clipping to dp_clip_norm, Gaussian noise.
  absl::StatusOr<TrainResult> Train(const ModelParams& global, const proto::TrainConfig& config,
                                    uint64_t seed) override;
  absl::StatusOr<std::optional<SgmEvent>> PlanPrivacy(const proto::TrainConfig& config) const override;

  // The LibTorch state, defined in trainer.cc.
  struct Impl;

 private:
  explicit TorchTrainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_TRAINER_H_
