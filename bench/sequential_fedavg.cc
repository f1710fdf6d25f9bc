// The baseline of issue 17's fedge-sim figure: a plain single-process
// FedAvg loop on LibTorch that trains the loopback workload one device after
// another. 10 devices, each 6,000 IID Fashion-MNIST training examples (a
// seeded permutation cut in ten), cnn_small, SGD lr 0.05, batch 32, 1 local
// epoch, one LibTorch thread; the devices' models averaged by example count,
// and the global model evaluated on the 10k test set after each of 5 rounds.
// Nothing else: no codecs, no update checks, no simulated links, no
// reports. bench/sim_bench.sh runs it beside `fedge-sim run
// simulations/scenarios/loopback.toml`.
//
//   build/bench/sequential_fedavg [FASHION_MNIST_DIR]
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/idx.h"
#include "models/dataset.h"
#include "models/threads.h"
#include "models/torch_params.h"
#include "models/training.h"
#include "models/zoo.h"

namespace {

constexpr int kDevices = 10;
constexpr int kRounds = 5;
constexpr int64_t kPerDevice = 6'000;

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "sequential_fedavg: %s\n", std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fedge;
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  SetComputeThreads(1);
  absl::StatusOr<ImageDataset> train = LoadFashionMnist(dir, "train");
  if (!train.ok()) return Fail(train.status());
  absl::StatusOr<ImageDataset> test = LoadFashionMnist(dir, "test");
  if (!test.ok()) return Fail(test.status());
  const TensorDataset test_set = ToRawTensors(*test);
  std::vector<int64_t> order(train->num_examples);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  std::vector<TensorDataset> shards;
  for (int d = 0; d < kDevices; ++d) {
    shards.push_back(ToTensors(*train, absl::MakeConstSpan(order).subspan(d * kPerDevice, kPerDevice)));
  }
  absl::StatusOr<torch::nn::Sequential> model = CreateModel("cnn_small", 1);
  if (!model.ok()) return Fail(model.status());
  ModelParams global = ToParams(**model);
  for (int round = 1; round <= kRounds; ++round) {
    std::vector<double> sum(global.values.size(), 0.0);
    for (int d = 0; d < kDevices; ++d) {
      if (absl::Status loaded = LoadParams(global, **model); !loaded.ok()) return Fail(loaded);
      TrainOptions options;
      options.seed = static_cast<uint64_t>(round * kDevices + d);
      absl::StatusOr<TrainStats> trained = Train(*model, shards[d], options);
      if (!trained.ok()) return Fail(trained.status());
      const ModelParams local = ToParams(**model);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += static_cast<double>(local.values[i]) * kPerDevice;
    }
    for (size_t i = 0; i < sum.size(); ++i) global.values[i] = static_cast<float>(sum[i] / (kDevices * kPerDevice));
    if (absl::Status loaded = LoadParams(global, **model); !loaded.ok()) return Fail(loaded);
    absl::StatusOr<EvalStats> eval = Evaluate(*model, test_set);
    if (!eval.ok()) return Fail(eval.status());
    std::printf("round %d: test accuracy %.4f\n", round, eval->accuracy);
  }
  return 0;
}
