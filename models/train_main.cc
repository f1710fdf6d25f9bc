// fedge-train: trains a zoo model centrally on Fashion-MNIST and prints test
// accuracy after each epoch. The non-federated baseline for every scenario.
#include <torch/torch.h>

#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "core/idx.h"
#include "models/dataset.h"
#include "models/threads.h"
#include "models/training.h"
#include "models/zoo.h"

int main(int argc, char** argv) {
  CLI::App app("fedge-train: centralised training baseline on Fashion-MNIST");
  std::string model_name = "cnn_small";
  std::string data_dir = fedge::kDefaultFashionMnistDir;
  int epochs = 3;
  int threads = 2;
  uint64_t seed = 1;
  fedge::TrainOptions options;
  options.batch_size = 32;
  options.learning_rate = 0.01;
  options.momentum = 0.9;
  app.add_option("--model", model_name, "zoo model name");
  app.add_option("--data-dir", data_dir, "directory with the Fashion-MNIST IDX files");
  app.add_option("--epochs", epochs, "training epochs")->check(CLI::Range(1, 1000));
  app.add_option("--batch-size", options.batch_size, "minibatch size")->check(CLI::Range(1, 100000));
  app.add_option("--lr", options.learning_rate, "learning rate");
  app.add_option("--momentum", options.momentum, "SGD momentum");
  app.add_option("--threads", threads, "LibTorch intra-op threads")->check(CLI::Range(1, 256));
  app.add_option("--seed", seed, "seed for initialisation and shuffling");
  CLI11_PARSE(app, argc, argv);

  fedge::SetComputeThreads(threads);
  auto train = fedge::LoadFashionMnist(data_dir, "train");
  auto test = fedge::LoadFashionMnist(data_dir, "test");
  if (!train.ok() || !test.ok()) {
    std::cerr << "fedge-train: " << (train.ok() ? test.status() : train.status()).message() << "\n";
    return 1;
  }
  auto model = fedge::CreateModel(model_name, seed);
  if (!model.ok()) {
    std::cerr << "fedge-train: " << model.status().message() << "\n";
    return 1;
  }
  const fedge::TensorDataset train_t = fedge::ToTensors(*train);
  const fedge::TensorDataset test_t = fedge::ToTensors(*test);
  std::cout << "model " << model_name << " (" << fedge::CountParameters(**model) << " parameters), "
            << train_t.size() << " training / " << test_t.size() << " test examples\n";
  const absl::Time start = absl::Now();
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    options.seed = seed + epoch;
    auto stats = fedge::Train(*model, train_t, options);
    auto eval = stats.ok() ? fedge::Evaluate(*model, test_t) : stats.status();
    if (!eval.ok()) {
      std::cerr << "fedge-train: " << eval.status().message() << "\n";
      return 1;
    }
    std::printf("epoch %d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  (%.1fs)\n", epoch,
                stats->mean_loss, eval->loss, 100 * eval->accuracy, absl::ToDoubleSeconds(absl::Now() - start));
  }
  return 0;
}
