// A device application on fedge's client library (fedge::client): the
// examples a device collects feed TorchTrainer through the TrainingData seam,
// and three local training tasks fine-tune the `mlp_tabular` zoo model the
// way the device agent does between rounds. A real device would hand the
// trainer to fedge::Device with a transport (client/device.h); here the
// "global model" of each task is the previous task's result.
//
// Exit status 0 when the local accuracy after the last task is at least 0.9.
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "client/trainer.h"
#include "proto/fedge.pb.h"

namespace {

constexpr int kFeatures = 4;
constexpr int kClasses = 3;

// Three Gaussian clusters in 4-D, one per class: what a sensor might see.
class SensorData final : public fedge::TrainingData {
 public:
  explicit SensorData(int n) {
    std::mt19937 gen(7);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    batch_.dim = kFeatures;
    for (int i = 0; i < n; ++i) {
      const int label = i % kClasses;
      for (int f = 0; f < kFeatures; ++f) batch_.features.push_back((f == label ? 1.5f : 0.0f) + noise(gen));
      batch_.labels.push_back(label);
      batch_.sequences.push_back(static_cast<uint64_t>(i));
    }
    batch_.num_recent = n;
  }
  uint64_t num_examples() const override { return static_cast<uint64_t>(batch_.size()); }
  int64_t dim() const override { return kFeatures; }
  absl::StatusOr<fedge::ExampleBatch> Draw(int64_t, uint64_t) override { return batch_; }

 private:
  fedge::ExampleBatch batch_;
};

}  // namespace

int main() {
  SensorData data(300);
  fedge::TorchTrainerOptions options;
  options.architecture = "mlp_tabular";
  options.shape = {.input_features = kFeatures, .num_classes = kClasses};
  auto trainer = fedge::TorchTrainer::Create(options, &data);
  if (!trainer.ok()) {
    std::fprintf(stderr, "device_app: %s\n", trainer.status().ToString().c_str());
    return 1;
  }

  // The initial global model: small seeded random weights in the trainer's layout.
  fedge::ModelParams global{(*trainer)->layout(), {}};
  std::mt19937 gen(1);
  std::normal_distribution<float> init(0.0f, 0.2f);
  global.values.resize(static_cast<size_t>(global.layout.num_elements()));
  for (float& v : global.values) v = init(gen);

  fedge::proto::TrainConfig config;
  config.set_local_epochs(2);
  config.set_batch_size(16);
  config.set_learning_rate(0.1);
  double accuracy = 0.0;
  for (int task = 1; task <= 3; ++task) {
    auto result = (*trainer)->Train(global, config, /*seed=*/task);
    if (!result.ok()) {
      std::fprintf(stderr, "device_app: task %d: %s\n", task, result.status().ToString().c_str());
      return 1;
    }
    accuracy = result->metrics["local_accuracy"];
    std::printf("task %d: %llu examples, %lld parameters, local accuracy %.3f\n", task,
                static_cast<unsigned long long>(result->num_examples),
                static_cast<long long>(global.layout.num_elements()), accuracy);
    global = std::move(result->local);
  }
  return accuracy >= 0.9 ? 0 : 1;
}
