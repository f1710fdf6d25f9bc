// One LibTorch SGD training step (forward, cross-entropy, backward, optimiser
// step) of the zoo's cnn_small on random 28x28 inputs, single-threaded as on
// a device. The figure to compare is items_per_second (examples per second)
// between batch sizes of the same run.
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"
#include "models/zoo.h"

namespace fedge {
namespace {

void BM_CnnSmallSgdStep(benchmark::State& state) {
  torch::set_num_threads(1);
  const int64_t batch = state.range(0);
  auto model = CreateModel("cnn_small", /*seed=*/1);
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return;
  }
  torch::nn::Sequential net = *model;
  net->train();
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  torch::manual_seed(7);
  const torch::Tensor inputs = torch::rand({batch, 1, 28, 28});
  const torch::Tensor labels = torch::randint(0, 10, {batch}, torch::kLong);
  for (auto _ : state) {
    optimizer.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(inputs), labels);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_CnnSmallSgdStep)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedge

BENCHMARK_MAIN();
