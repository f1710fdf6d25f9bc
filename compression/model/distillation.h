// File: compression/model/distillation.h
//
// Knowledge distillation (Hinton, Vinyals & Dean, 2015): a compact student
// from the model zoo learns to match a teacher's softened output
// distribution on an *unlabelled* proxy set. The loss per example is
//
//   T^2 * KL( softmax(z_t / T) || softmax(z_s / T) )
//
// where z_t, z_s are the teacher's and student's logits and T the
// temperature; the T^2 factor keeps gradient magnitudes comparable across
// temperatures. No labels are used anywhere.
//
// Example:
//   DistillOptions o;  o.epochs = 3;  o.temperature = 4;
//   FEDGE_ASSIGN_OR_RETURN(DistillResult r,
//       Distill("cnn_lenet", teacher_params, "cnn_student", proxy_images, o));
//   // r.student_params: the trained student's flat parameters.
//
// LibTorch exceptions are caught and returned as kInternal.
// Thread-safety: functions are reentrant; a module must not be used by two
// threads at once.
#ifndef FEDGE_COMPRESSION_MODEL_DISTILLATION_H_
#define FEDGE_COMPRESSION_MODEL_DISTILLATION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include "absl/status/statusor.h"
#include "compression/model/pruning.h"
#include "core/params.h"

namespace fedge {

struct DistillOptions {
  // Softmax temperature T > 0 applied to both teacher and student logits.
  double temperature = 2.0;
  // Passes over the proxy set (>= 1).
  int epochs = 3;
  // Proxy images per optimisation step (>= 1).
  int64_t batch_size = 64;
  // "adam" or "sgd".
  std::string optimizer = "adam";
  // Step size (> 0).
  double learning_rate = 2e-3;
  // SGD momentum in [0, 1); ignored by Adam.
  double momentum = 0.9;
  // L2 weight decay (>= 0).
  double weight_decay = 0;
  // Seeds the student's initial weights and the per-epoch shuffling.
  uint64_t seed = 1;
};

// kInvalidArgument naming the first bad field.
absl::Status ValidateDistillOptions(const DistillOptions& options);

struct DistillStats {
  // Mean T^2-scaled KL over the proxy set before and after training.
  double initial_kl = 0;
  double final_kl = 0;
  // Mean minibatch loss over all steps.
  double mean_loss = 0;
  int64_t steps = 0;
  int64_t proxy_examples = 0;
};

struct DistillResult {
  ModelParams student_params;
  DistillStats stats;
};

// Creates the zoo model `student_architecture` (initialised from
// options.seed) and distils `teacher_architecture` with `teacher_params`
// into it on `proxy_images` (float [N, C, H, W], normalised like the
// teacher's training data).
// kInvalidArgument: bad options, unknown architecture, teacher_params whose
// layout does not match the teacher, or proxy_images not 4-D float with N > 0.
// kInternal: a LibTorch error (e.g. the student does not accept the images).
absl::StatusOr<DistillResult> Distill(std::string_view teacher_architecture, const ModelParams& teacher_params,
                                      std::string_view student_architecture, const torch::Tensor& proxy_images,
                                      const DistillOptions& options);

// Trains `student` in place against `teacher` (not modified; run in eval
// mode). If `keep` is not null, the pruning mask is re-applied after every
// step so pruned weights stay zero (fine-tuning after pruning).
// REQUIRES: proxy_images valid as for Distill(); `keep` built for `student`.
// Same status codes as Distill().
absl::StatusOr<DistillStats> DistillInto(torch::nn::Sequential& teacher, torch::nn::Sequential& student,
                                         const torch::Tensor& proxy_images, const DistillOptions& options,
                                         const PruneMask* keep = nullptr);

// Mean T^2 * KL(teacher || student) over `images`. kInvalidArgument for
// T <= 0 or bad images; kInternal for a LibTorch error.
absl::StatusOr<double> DistillationKl(torch::nn::Sequential& teacher, torch::nn::Sequential& student,
                                      const torch::Tensor& images, double temperature, int64_t batch_size = 512);

// The loss on one minibatch of logits ([B, K] each), differentiable w.r.t.
// `student_logits`. REQUIRES: equal shapes, temperature > 0.
torch::Tensor DistillationLoss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                               double temperature);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_MODEL_DISTILLATION_H_
