#include "compression/model/distillation.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/strings.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

absl::Status ValidateImages(const torch::Tensor& images) {
  if (!images.defined() || images.dim() != 4 || images.size(0) == 0 || images.scalar_type() != torch::kFloat32) {
    return absl::InvalidArgumentError("distillation: proxy images must be a non-empty float tensor [N, C, H, W]");
  }
  return absl::OkStatus();
}

// The teacher's logits for the whole proxy set: computed once, since the
// teacher is frozen, instead of once per epoch.
torch::Tensor TeacherLogits(torch::nn::Sequential& teacher, const torch::Tensor& images, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  teacher->eval();
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    parts.push_back(teacher->forward(images.slice(0, start, std::min(images.size(0), start + batch_size))));
  }
  return torch::cat(parts, 0);
}

double MeanKl(torch::nn::Sequential& student, const torch::Tensor& images, const torch::Tensor& teacher_logits,
              double temperature, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  student->eval();
  double sum = 0;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t end = std::min(n, start + batch_size);
    torch::Tensor loss = DistillationLoss(student->forward(images.slice(0, start, end)),
                                          teacher_logits.slice(0, start, end), temperature);
    sum += loss.item<double>() * static_cast<double>(end - start);
  }
  student->train();
  return sum / static_cast<double>(n);
}

DistillStats DistillUnchecked(torch::nn::Sequential& teacher, torch::nn::Sequential& student,
                              const torch::Tensor& images, const DistillOptions& o, const PruneMask* keep) {
  const torch::Tensor teacher_logits = TeacherLogits(teacher, images, 512);
  DistillStats stats;
  stats.proxy_examples = images.size(0);
  stats.initial_kl = MeanKl(student, images, teacher_logits, o.temperature, 512);
  student->train();
  auto optimizer = MakeOptimizer(student, o.optimizer, o.learning_rate, o.momentum, o.weight_decay);
  const int64_t n = images.size(0);
  double loss_sum = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    auto generator = at::detail::createCPUGenerator(o.seed + 7919 * static_cast<uint64_t>(epoch + 1));
    const torch::Tensor order = torch::randperm(n, generator, torch::kInt64);
    for (int64_t start = 0; start < n; start += o.batch_size) {
      const torch::Tensor idx = order.slice(0, start, std::min(n, start + o.batch_size));
      optimizer->zero_grad();
      torch::Tensor loss = DistillationLoss(student->forward(images.index_select(0, idx)),
                                            teacher_logits.index_select(0, idx), o.temperature);
      loss.backward();
      optimizer->step();
      if (keep != nullptr) keep->Apply(*student);
      loss_sum += loss.item<double>();
      ++stats.steps;
    }
  }
  stats.mean_loss = stats.steps > 0 ? loss_sum / static_cast<double>(stats.steps) : 0;
  stats.final_kl = MeanKl(student, images, teacher_logits, o.temperature, 512);
  return stats;
}

}  // namespace

absl::Status ValidateDistillOptions(const DistillOptions& o) {
  if (!(o.temperature > 0) || !std::isfinite(o.temperature)) {
    return absl::InvalidArgumentError(absl::StrCat("distillation: temperature must be > 0, got ", o.temperature));
  }
  if (o.epochs < 1) return absl::InvalidArgumentError(absl::StrCat("distillation: epochs must be >= 1, got ", o.epochs));
  if (o.batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat("distillation: batch_size must be >= 1, got ", o.batch_size));
  }
  if (o.optimizer != "sgd" && o.optimizer != "adam") {
    return absl::InvalidArgumentError(
        absl::StrCat("distillation: optimizer must be 'sgd' or 'adam', got '", o.optimizer, "'"));
  }
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) {
    return absl::InvalidArgumentError("distillation: learning_rate must be a finite value > 0");
  }
  if (!(o.momentum >= 0 && o.momentum < 1)) {
    return absl::InvalidArgumentError("distillation: momentum must be in [0, 1)");
  }
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) {
    return absl::InvalidArgumentError("distillation: weight_decay must be >= 0");
  }
  return absl::OkStatus();
}

torch::Tensor DistillationLoss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                               double temperature) {
  const torch::Tensor log_p_teacher = torch::log_softmax(teacher_logits / temperature, 1);
  const torch::Tensor log_p_student = torch::log_softmax(student_logits / temperature, 1);
  // KL(p_t || p_s) = sum p_t (log p_t - log p_s), averaged over the batch.
  const torch::Tensor kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1).mean();
  return kl * (temperature * temperature);
}

absl::StatusOr<DistillStats> DistillInto(torch::nn::Sequential& teacher, torch::nn::Sequential& student,
                                         const torch::Tensor& proxy_images, const DistillOptions& options,
                                         const PruneMask* keep) {
  FEDGE_RETURN_IF_ERROR(ValidateDistillOptions(options));
  FEDGE_RETURN_IF_ERROR(ValidateImages(proxy_images));
  try {
    return DistillUnchecked(teacher, student, proxy_images, options, keep);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("distillation: LibTorch error: ", e.what()));
  }
}

absl::StatusOr<double> DistillationKl(torch::nn::Sequential& teacher, torch::nn::Sequential& student,
                                      const torch::Tensor& images, double temperature, int64_t batch_size) {
  if (!(temperature > 0)) return absl::InvalidArgumentError("distillation: temperature must be > 0");
  if (batch_size < 1) return absl::InvalidArgumentError("distillation: batch_size must be >= 1");
  FEDGE_RETURN_IF_ERROR(ValidateImages(images));
  try {
    const torch::Tensor teacher_logits = TeacherLogits(teacher, images, batch_size);
    return MeanKl(student, images, teacher_logits, temperature, batch_size);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("distillation: LibTorch error: ", e.what()));
  }
}

absl::StatusOr<DistillResult> Distill(std::string_view teacher_architecture, const ModelParams& teacher_params,
                                      std::string_view student_architecture, const torch::Tensor& proxy_images,
                                      const DistillOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateDistillOptions(options));
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential teacher, CreateModel(teacher_architecture, 0));
  FEDGE_RETURN_IF_ERROR(teacher_params.Validate());
  absl::Status loaded = LoadParams(teacher_params, *teacher);
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("distillation: teacher parameters do not fit '",
                                                   AsAbsl(teacher_architecture), "': ", loaded.message()));
  }
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential student, CreateModel(student_architecture, options.seed));
  DistillResult result;
  FEDGE_ASSIGN_OR_RETURN(result.stats, DistillInto(teacher, student, proxy_images, options));
  result.student_params = ToParams(*student);
  return result;
}

}  // namespace fedge
