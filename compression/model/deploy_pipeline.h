// File: compression/model/deploy_pipeline.h
//
// The coordinator's deployment step, end to end: global fp32 teacher
// parameters -> distillation into a compact student on an unlabelled proxy
// set -> optional magnitude pruning (+ masked distillation fine-tune) ->
// post-training int8 quantisation -> Ed25519-signed INT8 artifact. The
// teacher, the fp32 student and the int8 student are evaluated on a
// labelled test set; the int8 model is evaluated by the real on-device
// runtime (InferenceEngine, optimised kernels) after loading the signed
// artifact with the coordinator's verify key, exactly as a device would.
//
// The artifact header records model_id, version, parent_version (the global
// fp32 version distilled from), architecture (the student's zoo name),
// created_unix_micros and the metrics "int8_accuracy", "fp32_accuracy" (the
// fp32 student) and "teacher_accuracy".
//
// Example:
//   DeployOptions o;  o.parent_version = global_version;  o.version = next;
//   FEDGE_ASSIGN_OR_RETURN(DeployResult r,
//       RunDeployPipeline(global_params, DeployData{proxy_images, test}, o, signing_key));
//   Publish(r.artifact);   // r.report holds the accuracies and sizes
//
// Thread-safety: reentrant; LibTorch threads are whatever the caller set.
#ifndef FEDGE_COMPRESSION_MODEL_DEPLOY_PIPELINE_H_
#define FEDGE_COMPRESSION_MODEL_DEPLOY_PIPELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <torch/types.h>

#include "absl/status/statusor.h"
#include "compression/model/distillation.h"
#include "compression/model/int8_quantizer.h"
#include "compression/model/pruning.h"
#include "core/params.h"
#include "core/signing.h"
#include "models/dataset.h"

namespace fedge {

struct DeployOptions {
  // Zoo names of the teacher (matching the given parameters) and student.
  std::string teacher_architecture = "cnn_small";
  std::string student_architecture = "cnn_student";
  DistillOptions distill;
  // Pruning of the distilled student; fraction 0 (default) skips it.
  PruneOptions prune;
  // Masked distillation epochs after pruning (0: none). Uses `distill`'s
  // other settings.
  int fine_tune_epochs = 1;
  QuantizeOptions quantize;
  // Warm start: distillation continues from these student parameters (e.g.
  // the previous deployment's student) instead of a fresh initialisation.
  std::optional<ModelParams> initial_student;
  // Artifact header.
  std::string model_id = "fedge";
  uint64_t version = 1;
  uint64_t parent_version = 0;
};

// kInvalidArgument naming the bad field.
absl::Status ValidateDeployOptions(const DeployOptions& options);

struct DeployData {
  // Unlabelled proxy images, float [N, C, H, W], normalised as in training.
  // Used for distillation and (the first quantize.max_calibration_examples)
  // for calibration.
  torch::Tensor proxy_images;
  // Labelled test set for the reported accuracies.
  TensorDataset test;
};

struct DeployReport {
  double teacher_accuracy = 0;
  double student_fp32_accuracy = 0;
  double student_int8_accuracy = 0;
  int64_t teacher_parameters = 0;
  int64_t student_parameters = 0;
  int64_t artifact_bytes = 0;             // the signed INT8 artifact
  int64_t teacher_fp32_weight_bytes = 0;  // 4 * teacher_parameters
  double size_ratio = 0;                  // teacher_fp32_weight_bytes / artifact_bytes
  DistillStats distill;
  PruneStats prune;  // zero when pruning is off
};

struct DeployResult {
  std::string artifact;         // signed SignedArtifact bytes
  ModelParams student_params;   // fp32 student (after pruning / fine-tune)
  DeployReport report;
};

// Runs the pipeline. kInvalidArgument: bad options, teacher_params that do
// not fit the teacher architecture (or initial_student the student's), bad proxy images or an empty test set,
// a student the int8 format cannot express. kInternal: LibTorch errors or
// an artifact the runtime refuses (a bug).
absl::StatusOr<DeployResult> RunDeployPipeline(const ModelParams& teacher_params, const DeployData& data,
                                               const DeployOptions& options, const SigningKey& signing_key);

// Accuracy of a signed INT8 artifact on `data`, run by InferenceEngine
// (optimised kernels) after verifying it with `key`.
// kPermissionDenied / kInvalidArgument as InferenceEngine::Load;
// kInvalidArgument if the data does not match the model's input shape.
absl::StatusOr<double> EvaluateInt8Artifact(std::string_view artifact, const VerifyKey& key,
                                            const TensorDataset& data);

}  // namespace fedge

#endif  // FEDGE_COMPRESSION_MODEL_DEPLOY_PIPELINE_H_
