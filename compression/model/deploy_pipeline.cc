#include "compression/model/deploy_pipeline.h"

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/artifact.h"
#include "core/status.h"
#include "core/strings.h"
#include "inference/engine.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

absl::StatusOr<torch::nn::Sequential> LoadTeacher(const std::string& architecture, const ModelParams& params) {
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential teacher, CreateModel(architecture, 0));
  FEDGE_RETURN_IF_ERROR(params.Validate());
  absl::Status loaded = LoadParams(params, *teacher);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("deploy: teacher parameters do not fit '", architecture, "': ", loaded.message()));
  }
  return teacher;
}

// Distils, then optionally prunes and fine-tunes with the mask held.
absl::StatusOr<torch::nn::Sequential> TrainStudent(torch::nn::Sequential& teacher, const torch::Tensor& proxy,
                                                   const DeployOptions& o, DeployReport& report) {
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential student, CreateModel(o.student_architecture, o.distill.seed));
  if (o.initial_student) {
    if (absl::Status loaded = LoadParams(*o.initial_student, *student); !loaded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("deploy: initial_student does not fit '", o.student_architecture,
                                                     "': ", loaded.message()));
    }
  }
  FEDGE_ASSIGN_OR_RETURN(report.distill, DistillInto(teacher, student, proxy, o.distill));
  if (o.prune.fraction > 0) {
    FEDGE_ASSIGN_OR_RETURN(PruneResult pruned, PruneByMagnitude(*student, o.prune));
    report.prune = pruned.stats;
    if (o.fine_tune_epochs > 0) {
      DistillOptions fine_tune = o.distill;
      fine_tune.epochs = o.fine_tune_epochs;
      fine_tune.seed = o.distill.seed + 1;
      FEDGE_RETURN_IF_ERROR(DistillInto(teacher, student, proxy, fine_tune, &pruned.mask).status());
    }
  }
  return student;
}

// Signs `body`, measures the int8 accuracy through the runtime, records it
// in the header and signs the final body.
absl::StatusOr<std::string> SignWithInt8Accuracy(proto::ArtifactBody body, const SigningKey& key,
                                                 const TensorDataset& test, double& accuracy) {
  FEDGE_ASSIGN_OR_RETURN(std::string draft, SignArtifact(body, key));
  absl::StatusOr<double> measured = EvaluateInt8Artifact(draft, key.verify_key(), test);
  if (!measured.ok()) {
    return absl::InternalError(absl::StrCat("deploy: the runtime refused the quantised model: ",
                                            measured.status().ToString()));
  }
  accuracy = *measured;
  (*body.mutable_header()->mutable_metrics())["int8_accuracy"] = accuracy;
  return SignArtifact(body, key);
}

}  // namespace

absl::Status ValidateDeployOptions(const DeployOptions& o) {
  FEDGE_RETURN_IF_ERROR(ValidateDistillOptions(o.distill));
  FEDGE_RETURN_IF_ERROR(ValidateQuantizeOptions(o.quantize));
  if (!(o.prune.fraction >= 0 && o.prune.fraction < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("deploy: prune.fraction must be in [0, 1), got ", o.prune.fraction));
  }
  if (o.fine_tune_epochs < 0) return absl::InvalidArgumentError("deploy: fine_tune_epochs must be >= 0");
  if (o.model_id.empty()) return absl::InvalidArgumentError("deploy: model_id must not be empty");
  return absl::OkStatus();
}

absl::StatusOr<double> EvaluateInt8Artifact(std::string_view artifact, const VerifyKey& key,
                                            const TensorDataset& data) {
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<InferenceEngine> engine, InferenceEngine::Load(artifact, key, EngineOptions{}));
  const std::array<int, 3> shape = engine->input_shape();
  if (data.size() == 0 || data.images.dim() != 4 || data.images.size(1) != shape[0] ||
      data.images.size(2) != shape[1] || data.images.size(3) != shape[2]) {
    return absl::InvalidArgumentError(absl::StrCat("int8 evaluation: expected non-empty images [N, ", shape[0], ", ",
                                                   shape[1], ", ", shape[2], "]"));
  }
  const torch::Tensor images = data.images.to(torch::kFloat32).contiguous();
  const torch::Tensor labels = data.labels.to(torch::kInt64).contiguous();
  const int64_t n = data.size();
  const int64_t chunk = 256;
  std::vector<float> probabilities(static_cast<size_t>(chunk * engine->num_classes()));
  std::vector<int> predicted(static_cast<size_t>(chunk));
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t count = std::min(chunk, n - start);
    absl::Span<const float> inputs(images.data_ptr<float>() + start * engine->input_size(),
                                   static_cast<size_t>(count * engine->input_size()));
    FEDGE_RETURN_IF_ERROR(engine->ClassifyBatch(
        inputs, absl::MakeSpan(probabilities).subspan(0, count * engine->num_classes()),
        absl::MakeSpan(predicted).subspan(0, count)));
    for (int64_t i = 0; i < count; ++i) correct += predicted[i] == labels.data_ptr<int64_t>()[start + i] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

absl::StatusOr<DeployResult> RunDeployPipeline(const ModelParams& teacher_params, const DeployData& data,
                                               const DeployOptions& options, const SigningKey& signing_key) {
  FEDGE_RETURN_IF_ERROR(ValidateDeployOptions(options));
  if (data.test.size() == 0) return absl::InvalidArgumentError("deploy: the test set is empty");
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential teacher, LoadTeacher(options.teacher_architecture, teacher_params));
  DeployResult result;
  DeployReport& report = result.report;
  FEDGE_ASSIGN_OR_RETURN(EvalStats teacher_eval, Evaluate(teacher, data.test));
  report.teacher_accuracy = teacher_eval.accuracy;
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential student, TrainStudent(teacher, data.proxy_images, options, report));
  FEDGE_ASSIGN_OR_RETURN(EvalStats student_eval, Evaluate(student, data.test));
  report.student_fp32_accuracy = student_eval.accuracy;

  proto::ArtifactHeader header;
  header.set_model_id(options.model_id);
  header.set_version(options.version);
  header.set_parent_version(options.parent_version);
  header.set_architecture(options.student_architecture);
  header.set_created_unix_micros(absl::ToUnixMicros(absl::Now()));
  (*header.mutable_metrics())["fp32_accuracy"] = report.student_fp32_accuracy;
  (*header.mutable_metrics())["teacher_accuracy"] = report.teacher_accuracy;
  FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body,
                         QuantizeToInt8(student, data.proxy_images, options.quantize, std::move(header)));
  FEDGE_ASSIGN_OR_RETURN(result.artifact,
                         SignWithInt8Accuracy(std::move(body), signing_key, data.test, report.student_int8_accuracy));

  report.teacher_parameters = CountParameters(*teacher);
  report.student_parameters = CountParameters(*student);
  report.teacher_fp32_weight_bytes = report.teacher_parameters * static_cast<int64_t>(sizeof(float));
  report.artifact_bytes = static_cast<int64_t>(result.artifact.size());
  report.size_ratio = static_cast<double>(report.teacher_fp32_weight_bytes) / static_cast<double>(report.artifact_bytes);
  result.student_params = ToParams(*student);
  return result;
}

}  // namespace fedge
