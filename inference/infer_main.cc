// fedge-infer: classifies (Fashion-)MNIST IDX images with a signed int8 model
// artifact and reports accuracy and per-image latency. No LibTorch.
//
//   fedge-infer --model MODEL.fedge --key coordinator.pub
//       --images t10k-images-idx3-ubyte.gz --labels t10k-labels-idx1-ubyte.gz [--limit N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/idx.h"
#include "core/status.h"
#include "inference/engine.h"

namespace fedge {
namespace {

// Normalisation the Fashion-MNIST models are trained with.
constexpr float kPixelMean = 0.2860f;
constexpr float kPixelStd = 0.3530f;

struct Flags {
  std::string model;
  std::string key;
  std::string images;
  std::string labels;
  int64_t limit = 0;
  bool reference = false;
  LoadLimits limits;
};

struct Dataset {
  int64_t count = 0;
  int64_t pixels = 0;  // per image
  std::vector<uint8_t> images;
  std::vector<uint8_t> labels;
};

absl::StatusOr<Dataset> LoadDataset(const Flags& flags) {
  FEDGE_ASSIGN_OR_RETURN(IdxArray images, ReadIdxFile(flags.images));
  FEDGE_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(flags.labels));
  if (images.dims.size() != 3 || labels.dims.size() != 1 || images.dims[0] != labels.dims[0]) {
    return absl::InvalidArgumentError(
        absl::StrCat(flags.images, " and ", flags.labels, " are not matching [N, rows, cols] images and [N] labels"));
  }
  Dataset data;
  data.count = images.dims[0];
  if (flags.limit > 0) data.count = std::min(data.count, flags.limit);
  data.pixels = images.dims[1] * images.dims[2];
  data.images = std::move(images.data);
  data.labels = std::move(labels.data);
  return data;
}

double Percentile(std::vector<double> values, double q) {
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

absl::Status Run(const Flags& flags) {
  FEDGE_ASSIGN_OR_RETURN(VerifyKey key, VerifyKey::FromPemFile(flags.key));
  FEDGE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(flags.model));
  EngineOptions options;
  options.kernels = flags.reference ? KernelSet::kReference : KernelSet::kOptimized;
  options.limits = flags.limits;
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<InferenceEngine> engine, InferenceEngine::Load(bytes, key, options));
  FEDGE_ASSIGN_OR_RETURN(Dataset data, LoadDataset(flags));
  if (data.pixels != engine->input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("images have ", data.pixels, " pixels, the model expects ",
                                                   engine->input_size()));
  }
  std::vector<float> input(static_cast<size_t>(data.pixels));
  std::vector<float> probabilities(static_cast<size_t>(engine->num_classes()));
  std::vector<double> latency_us;
  latency_us.reserve(static_cast<size_t>(data.count));
  int64_t correct = 0;
  for (int64_t n = 0; n < data.count; ++n) {
    const uint8_t* pixels = data.images.data() + n * data.pixels;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < data.pixels; ++i) input[i] = (pixels[i] / 255.0f - kPixelMean) / kPixelStd;
    int label = -1;
    FEDGE_RETURN_IF_ERROR(engine->Classify(input, absl::MakeSpan(probabilities), &label));
    latency_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    correct += label == data.labels[n];
  }
  if (data.count == 0) return absl::InvalidArgumentError("no images to classify");
  double total = 0;
  for (double v : latency_us) total += v;
  std::printf("model %s v%llu (%s kernels), %lld images\n", engine->header().model_id().c_str(),
              static_cast<unsigned long long>(engine->header().version()), flags.reference ? "reference" : "optimized",
              static_cast<long long>(data.count));
  std::printf("accuracy %.4f (%lld/%lld)\n", static_cast<double>(correct) / data.count, static_cast<long long>(correct),
              static_cast<long long>(data.count));
  std::printf("latency per image: mean %.1f us, p50 %.1f us, p99 %.1f us\n", total / data.count,
              Percentile(latency_us, 0.50), Percentile(latency_us, 0.99));
  return absl::OkStatus();
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) {
  fedge::Flags flags;
  CLI::App app{"fedge-infer: classify IDX images with a signed int8 model artifact"};
  app.add_option("--model", flags.model, "signed INT8 model artifact")->required();
  app.add_option("--key", flags.key, "pinned coordinator public key (PEM)")->required();
  app.add_option("--images", flags.images, "IDX images file (optionally .gz)")->required();
  app.add_option("--labels", flags.labels, "IDX labels file (optionally .gz)")->required();
  app.add_option("--limit", flags.limit, "classify at most N images (0 = all)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-memory-bytes", flags.limits.max_memory_bytes,
                 "refuse models needing more activation/scratch/weight memory (LoadLimits)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-macs", flags.limits.max_macs_per_example,
                 "refuse models needing more multiply-accumulates per image (LoadLimits)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--reference", flags.reference, "use the reference kernels instead of the optimised ones");
  CLI11_PARSE(app, argc, argv);
  // fedge code reports errors as Status; this catch is the last line for
  // what the standard library may still throw (std::bad_alloc on a host
  // short of memory), so the tool reports and exits instead of aborting.
  absl::Status status;
  try {
    status = fedge::Run(flags);
  } catch (const std::exception& e) {
    status = absl::InternalError(absl::StrCat("unexpected exception: ", e.what()));
  } catch (...) {
    status = absl::InternalError("unexpected non-standard exception");
  }
  if (!status.ok()) {
    std::fprintf(stderr, "fedge-infer: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
