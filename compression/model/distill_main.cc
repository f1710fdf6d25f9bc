// fedge-distill: the deployment pipeline by hand on Fashion-MNIST. Trains a
// teacher centrally (or loads a signed fp32 artifact), distils it into a
// student on part of the training set used as an unlabelled proxy,
// optionally prunes, quantises to int8, signs, writes the artifact and the
// public key, and prints teacher / student fp32 / student int8 accuracy
// and sizes.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>
#include <numeric>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "compression/model/deploy_pipeline.h"
#include "core/artifact.h"
#include "core/file_util.h"
#include "core/idx.h"
#include "core/status.h"
#include "models/dataset.h"
#include "models/threads.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace fedge {
namespace {

struct Flags {
  std::string data_dir = kDefaultFashionMnistDir;
  std::string teacher_model = "cnn_small";
  std::string teacher_artifact;  // signed fp32 artifact; empty: train one
  std::string teacher_key;       // PEM public key of the teacher artifact
  std::string save_teacher;      // write the trained teacher as a signed fp32 artifact
  int teacher_epochs = 3;
  double teacher_lr = 0.01;
  int64_t proxy_examples = 20000;  // the last N training images, labels unused
  std::string signing_key;         // PEM private key; empty: generate one
  std::string out = "MODEL.fedge";
  std::string public_key_out = "coordinator.pub";
  std::string calibration = "minmax";
  int threads = 2;
  uint64_t seed = 1;
};

TensorDataset Subset(const ImageDataset& data, int64_t begin, int64_t end) {
  std::vector<int64_t> idx(static_cast<size_t>(end - begin));
  std::iota(idx.begin(), idx.end(), begin);
  return ToTensors(data, idx);
}

absl::StatusOr<ModelParams> GetTeacher(const Flags& f, const TensorDataset& train, const SigningKey& key) {
  if (!f.teacher_artifact.empty()) {
    FEDGE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(f.teacher_artifact));
    FEDGE_ASSIGN_OR_RETURN(VerifyKey verify,
                           f.teacher_key.empty() ? key.verify_key() : VerifyKey::FromPemFile(f.teacher_key));
    FEDGE_ASSIGN_OR_RETURN(proto::ArtifactBody body, OpenArtifact(bytes, verify));
    return ParamsFromBody(body);
  }
  FEDGE_ASSIGN_OR_RETURN(torch::nn::Sequential teacher, CreateModel(f.teacher_model, f.seed));
  TrainOptions o;
  o.batch_size = 32;
  o.learning_rate = f.teacher_lr;
  o.momentum = 0.9;
  for (int epoch = 1; epoch <= f.teacher_epochs; ++epoch) {
    o.seed = f.seed + epoch;
    FEDGE_ASSIGN_OR_RETURN(TrainStats stats, Train(teacher, train, o));
    std::printf("teacher epoch %d: train loss %.4f\n", epoch, stats.mean_loss);
  }
  ModelParams params = ToParams(*teacher);
  if (!f.save_teacher.empty()) {
    proto::ArtifactHeader header;
    header.set_model_id("fedge");
    header.set_architecture(f.teacher_model);
    header.set_dtype(proto::DTYPE_FLOAT32);
    FEDGE_ASSIGN_OR_RETURN(std::string bytes, SignArtifact(MakeFp32Body(header, params), key));
    FEDGE_RETURN_IF_ERROR(WriteFileAtomically(f.save_teacher, bytes));
  }
  return params;
}

absl::Status Run(const Flags& f, DeployOptions& options) {
  SetComputeThreads(f.threads);
  FEDGE_ASSIGN_OR_RETURN(ImageDataset train, LoadFashionMnist(f.data_dir, "train"));
  FEDGE_ASSIGN_OR_RETURN(ImageDataset test, LoadFashionMnist(f.data_dir, "test"));
  if (f.proxy_examples < 1 || f.proxy_examples >= train.num_examples) {
    return absl::InvalidArgumentError("--proxy-examples must be in [1, training set size)");
  }
  const int64_t split = train.num_examples - f.proxy_examples;
  const TensorDataset teacher_train = Subset(train, 0, split);
  DeployData data{Subset(train, split, train.num_examples).images, ToTensors(test)};
  if (f.calibration != "minmax" && f.calibration != "percentile") {
    return absl::InvalidArgumentError("--calibration must be 'minmax' or 'percentile'");
  }
  options.quantize.calibration =
      f.calibration == "minmax" ? CalibrationMethod::kMinMax : CalibrationMethod::kPercentile;
  FEDGE_ASSIGN_OR_RETURN(SigningKey key, f.signing_key.empty() ? SigningKey::Generate()
                                                                : SigningKey::FromPemFile(f.signing_key));
  const absl::Time start = absl::Now();
  FEDGE_ASSIGN_OR_RETURN(ModelParams teacher, GetTeacher(f, teacher_train, key));
  FEDGE_ASSIGN_OR_RETURN(DeployResult r, RunDeployPipeline(teacher, data, options, key));
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(f.out, r.artifact));
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(f.public_key_out, key.verify_key().ToPem()));
  const DeployReport& rep = r.report;
  std::printf("teacher %-12s %6lld params  fp32 weights %7lld B  accuracy %.2f%%\n",
              options.teacher_architecture.c_str(), static_cast<long long>(rep.teacher_parameters),
              static_cast<long long>(rep.teacher_fp32_weight_bytes), 100 * rep.teacher_accuracy);
  std::printf("student %-12s %6lld params  fp32 accuracy %.2f%%  int8 accuracy %.2f%%\n",
              options.student_architecture.c_str(), static_cast<long long>(rep.student_parameters),
              100 * rep.student_fp32_accuracy, 100 * rep.student_int8_accuracy);
  std::printf("distillation KL %.4f -> %.4f over %lld proxy images; pruned %.1f%% of weights\n",
              rep.distill.initial_kl, rep.distill.final_kl, static_cast<long long>(rep.distill.proxy_examples),
              100 * rep.prune.achieved_fraction);
  std::printf("int8 artifact %lld B (signed) = %.1fx smaller than the teacher's fp32 weights\n",
              static_cast<long long>(rep.artifact_bytes), rep.size_ratio);
  std::printf("gaps: int8 vs fp32 student %+.2f pts, student vs teacher %+.2f pts  (%.0fs)\n",
              100 * (rep.student_int8_accuracy - rep.student_fp32_accuracy),
              100 * (rep.student_fp32_accuracy - rep.teacher_accuracy),
              absl::ToDoubleSeconds(absl::Now() - start));
  std::printf("wrote %s and %s\n", f.out.c_str(), f.public_key_out.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  CLI::App app("fedge-distill: distil, int8-quantise and sign a deployable model on Fashion-MNIST");
  fedge::Flags f;
  fedge::DeployOptions o;
  // Defaults of the reported run (README): longer distillation than the
  // library default, as the proxy set is large and the student small.
  o.distill.epochs = 15;
  o.distill.temperature = 2;
  std::string prune_scope = "global";
  app.add_option("--data-dir", f.data_dir, "directory with the Fashion-MNIST IDX files");
  app.add_option("--teacher-model", o.teacher_architecture, "zoo name of the teacher");
  app.add_option("--student-model", o.student_architecture, "zoo name of the student");
  app.add_option("--teacher", f.teacher_artifact, "signed fp32 teacher artifact (default: train one)");
  app.add_option("--teacher-key", f.teacher_key, "PEM public key of --teacher (default: the signing key's)");
  app.add_option("--save-teacher", f.save_teacher, "write the trained teacher as a signed fp32 artifact");
  app.add_option("--teacher-epochs", f.teacher_epochs, "central training epochs of the teacher")
      ->check(CLI::Range(1, 1000));
  app.add_option("--teacher-lr", f.teacher_lr, "teacher SGD learning rate (momentum 0.9, batch 32)");
  app.add_option("--proxy-examples", f.proxy_examples, "last N training images used as unlabelled proxy set");
  app.add_option("--epochs", o.distill.epochs, "distillation epochs");
  app.add_option("--temperature", o.distill.temperature, "distillation temperature");
  app.add_option("--optimizer", o.distill.optimizer, "adam or sgd");
  app.add_option("--lr", o.distill.learning_rate, "distillation learning rate");
  app.add_option("--batch-size", o.distill.batch_size, "distillation batch size");
  app.add_option("--prune", o.prune.fraction, "fraction of student weights to prune (0 = off)");
  app.add_option("--prune-scope", prune_scope, "global or per-layer")->check(CLI::IsMember({"global", "per-layer"}));
  app.add_option("--fine-tune-epochs", o.fine_tune_epochs, "masked distillation epochs after pruning");
  app.add_option("--calibration", f.calibration, "minmax or percentile");
  app.add_option("--percentile", o.quantize.percentile, "percentile for --calibration percentile");
  app.add_option("--signing-key", f.signing_key, "PEM Ed25519 private key (default: generate one)");
  app.add_option("--out", f.out, "output artifact");
  app.add_option("--public-key", f.public_key_out, "where to write the verify key (PEM)");
  app.add_option("--parent-version", o.parent_version, "global fp32 version the model derives from");
  app.add_option("--version", o.version, "version of the int8 artifact");
  app.add_option("--threads", f.threads, "LibTorch intra-op threads")->check(CLI::Range(1, 256));
  app.add_option("--seed", f.seed, "seed for teacher training and distillation");
  CLI11_PARSE(app, argc, argv);
  o.distill.seed = f.seed;
  o.prune.scope = prune_scope == "global" ? fedge::PruneScope::kGlobal : fedge::PruneScope::kPerLayer;
  if (o.teacher_architecture.empty()) o.teacher_architecture = f.teacher_model;
  f.teacher_model = o.teacher_architecture;
  absl::Status s = fedge::Run(f, o);
  if (!s.ok()) {
    std::cerr << "fedge-distill: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
